"""Length units found in scanner metadata, converted to millimetres."""

from __future__ import annotations

from porelab.errors import VolumeError

_MM_PER_UNIT = {
    "mm": 1.0,
    "millimeter": 1.0,
    "millimetre": 1.0,
    "um": 1e-3,
    "µm": 1e-3,
    "μm": 1e-3,
    "\\u00b5m": 1e-3,
    "micron": 1e-3,
    "microns": 1e-3,
    "micrometer": 1e-3,
    "micrometre": 1e-3,
    "nm": 1e-6,
    "nanometer": 1e-6,
    "cm": 10.0,
    "centimeter": 10.0,
    "m": 1000.0,
    "meter": 1000.0,
    "in": 25.4,
    "inch": 25.4,
}


def mm_per_unit(unit: str, *, source: str, field: str) -> float:
    """Millimetres in one `unit` ('mm', 'um', 'micron', 'cm', ...)."""
    key = unit.strip().lower()
    if key not in _MM_PER_UNIT:
        raise VolumeError(
            f"{source}: {field}: unknown length unit {unit!r}; expected one of {sorted(set(_MM_PER_UNIT))}"
        )
    return _MM_PER_UNIT[key]

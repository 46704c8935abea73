"""X-ray attenuation of the materials the phantoms are made of, at a few energy bins.

Source of the numbers: mass attenuation coefficients mu/rho (cm^2/g, total with coherent
scattering) of the elements from the NIST tables of Hubbell & Seltzer, "Tables of X-Ray Mass
Attenuation Coefficients and Mass Energy-Absorption Coefficients" (NIST Standard Reference
Database 126, https://physics.nist.gov/PhysRefData/XrayMassCoef/), read at the table's own
energies 50, 60, 80, 100 and 150 keV (no interpolation). A material's mu/rho is the mixture
rule sum_i w_i (mu/rho)_i over its element mass fractions w_i (nominal compositions below);
its linear attenuation is mu/rho x density. Densities are nominal handbook values.

The spectrum weights come from Kramers' law for a tungsten anode (photon number
N(E) ~ (E_max - E)/E, integrated over each bin in closed form) times the transmission of a
copper pre-filter at the bin's energy (NIST mu/rho of Cu). Polychromatic projection with
these bins makes beam hardening emerge from the physics: low bins die out first in thick metal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from porelab.errors import ConfigError

#: Representative energies of the bins (keV): NIST table energies.
BIN_ENERGIES_KEV: tuple[float, ...] = (50.0, 60.0, 80.0, 100.0, 150.0)
#: Bin edges (keV) around the representative energies; the last edge is the tube voltage.
_BIN_EDGES_KEV: tuple[float, ...] = (40.0, 55.0, 70.0, 90.0, 125.0)

# NIST mu/rho (cm^2/g) at 50, 60, 80, 100, 150 keV.
_ELEMENT_MU_RHO: dict[str, tuple[float, ...]] = {
    "H": (0.3355, 0.3260, 0.3091, 0.2944, 0.2651),
    "B": (0.1665, 0.1583, 0.1472, 0.1391, 0.1243),
    "C": (0.1871, 0.1753, 0.1610, 0.1514, 0.1347),
    "N": (0.1980, 0.1817, 0.1639, 0.1529, 0.1353),
    "O": (0.2132, 0.1907, 0.1678, 0.1551, 0.1361),
    "Na": (0.2804, 0.2268, 0.1796, 0.1585, 0.1335),
    "Mg": (0.3292, 0.2570, 0.1951, 0.1686, 0.1394),
    "Al": (0.3681, 0.2778, 0.2018, 0.1704, 0.1378),
    "Si": (0.4385, 0.3207, 0.2228, 0.1835, 0.1448),
    "Ca": (1.019, 0.6578, 0.3656, 0.2571, 0.1674),
    "Ti": (1.213, 0.7661, 0.4052, 0.2721, 0.1649),
    "V": (1.347, 0.8438, 0.4371, 0.2877, 0.1682),
    "Cr": (1.550, 0.9639, 0.4905, 0.3166, 0.1788),
    "Mn": (1.714, 1.060, 0.5306, 0.3367, 0.1838),
    "Fe": (1.958, 1.205, 0.5952, 0.3717, 0.1964),
    "Co": (2.144, 1.314, 0.6414, 0.3949, 0.2023),
    "Ni": (2.474, 1.512, 0.7306, 0.4440, 0.2208),
    "Cu": (2.613, 1.593, 0.7630, 0.4584, 0.2217),
    "Mo": (7.037, 4.274, 1.962, 1.096, 0.4208),
}
_COPPER_DENSITY = 8.96  # g/cm^3


@dataclass(frozen=True)
class Material:
    """A material: nominal element mass fractions and density (g/cm^3)."""

    key: str
    density: float
    composition: dict[str, float]

    def mass_attenuation(self) -> np.ndarray:
        """mu/rho (cm^2/g) at `BIN_ENERGIES_KEV`, by the mixture rule."""
        total = sum(self.composition.values())
        rows = [frac / total * np.asarray(_ELEMENT_MU_RHO[el]) for el, frac in self.composition.items()]
        return np.sum(rows, axis=0)

    def linear_attenuation_per_mm(self) -> np.ndarray:
        """mu (1/mm) at `BIN_ENERGIES_KEV`: mu/rho x density, converted from 1/cm."""
        return self.mass_attenuation() * self.density / 10.0


def _oxides_to_elements(oxides: dict[str, tuple[float, dict[str, int]]]) -> dict[str, float]:
    """Element mass fractions of a glass given as oxide mass fractions {name: (w, formula)}."""
    atomic_mass = {"O": 15.999, "Si": 28.086, "Ca": 40.078, "Al": 26.982, "B": 10.811, "Mg": 24.305, "Na": 22.990}
    elements: dict[str, float] = {}
    for weight, formula in oxides.values():
        molar = sum(atomic_mass[el] * n for el, n in formula.items())
        for el, n in formula.items():
            elements[el] = elements.get(el, 0.0) + weight * atomic_mass[el] * n / molar
    return elements


# E-glass: nominal oxide composition (ASTM D578 range mid-points), density 2.58 g/cm^3.
_E_GLASS = _oxides_to_elements(
    {
        "SiO2": (0.55, {"Si": 1, "O": 2}),
        "CaO": (0.22, {"Ca": 1, "O": 1}),
        "Al2O3": (0.145, {"Al": 2, "O": 3}),
        "B2O3": (0.07, {"B": 2, "O": 3}),
        "MgO": (0.01, {"Mg": 1, "O": 1}),
        "Na2O": (0.005, {"Na": 2, "O": 1}),
    }
)

MATERIALS: dict[str, Material] = {
    "Ti6Al4V": Material("Ti6Al4V", 4.43, {"Ti": 0.90, "Al": 0.06, "V": 0.04}),
    # ASTM F75 cobalt-chromium-molybdenum
    "CoCr": Material("CoCr", 8.29, {"Co": 0.645, "Cr": 0.285, "Mo": 0.06, "Ni": 0.005, "Fe": 0.005}),
    "316L": Material("316L", 7.99, {"Fe": 0.655, "Cr": 0.17, "Ni": 0.12, "Mo": 0.025, "Mn": 0.02, "Si": 0.01}),
    "AlSi7Mg": Material("AlSi7Mg", 2.68, {"Al": 0.926, "Si": 0.07, "Mg": 0.004}),
    # the usual laser powder-bed aluminium alloy
    "AlSi10Mg": Material("AlSi10Mg", 2.67, {"Al": 0.897, "Si": 0.10, "Mg": 0.003}),
    # polyamide 6-6, (C12H22N2O2)n
    "PA66": Material("PA66", 1.14, {"C": 0.6369, "H": 0.0980, "N": 0.1238, "O": 0.1414}),
    "E-glass": Material("E-glass", 2.58, _E_GLASS),
}


def attenuation_per_mm(key: str) -> np.ndarray:
    """Linear attenuation mu (1/mm) of material `key` at the energy bins; air is 0 (negligible)."""
    if key == "air":
        return np.zeros(len(BIN_ENERGIES_KEV))
    if key not in MATERIALS:
        raise ConfigError(f"material {key!r}: unknown key; expected 'air' or one of {sorted(MATERIALS)}")
    return MATERIALS[key].linear_attenuation_per_mm()


def tungsten_spectrum(tube_kv: float = 160.0, copper_filter_mm: float = 0.5) -> np.ndarray:
    """Normalised photon weights of the energy bins for a Cu-filtered tungsten tube.

    Kramers' law N(E) = (E_max - E)/E integrated over each bin, then attenuated by the filter.
    """
    if tube_kv <= _BIN_EDGES_KEV[-1]:
        raise ConfigError(f"tungsten_spectrum: tube_kv={tube_kv} must exceed {_BIN_EDGES_KEV[-1]} keV")
    if copper_filter_mm < 0:
        raise ConfigError(f"tungsten_spectrum: copper_filter_mm={copper_filter_mm} must be >= 0")
    edges = np.asarray((*_BIN_EDGES_KEV, tube_kv))
    lo, hi = edges[:-1], edges[1:]
    photons = tube_kv * np.log(hi / lo) - (hi - lo)
    mu_cu = np.asarray(_ELEMENT_MU_RHO["Cu"]) * _COPPER_DENSITY / 10.0
    weights = photons * np.exp(-mu_cu * copper_filter_mm)
    return weights / weights.sum()


def effective_attenuation_per_mm(key: str, weights: np.ndarray) -> float:
    """Spectrum-weighted mean mu (1/mm): the grey value a thin piece of `key` reconstructs to."""
    return float(np.dot(np.asarray(weights, dtype=float), attenuation_per_mm(key)))

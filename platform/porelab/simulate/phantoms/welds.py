"""2D weld radiographs (Lindgren & Zach): a bead's thickness profile seen through the plate,
film/detector noise with a grain correlation length, indications with pixel masks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import ndimage

from porelab.errors import ConfigError
from porelab.simulate.phantoms.weld_indications import DRAWERS, INDICATION_CLASSES, BeadPath, Indication

_CODES = {name: code for code, name in INDICATION_CLASSES.items()}


@dataclass(frozen=True)
class WeldSettings:
    """Plate and bead (pixels and fractions of the plate thickness), exposure and noise.

    `mu_plate` is the attenuation-thickness product of the plate, so the plate transmits
    exp(-mu_plate); the bead cap adds `cap_height` of the plate at its centre. Noise: Gaussian
    with standard deviation `noise` (of the plate's grey value), smoothed over `grain_px` (the
    film grain / detector correlation length) plus `white_noise` uncorrelated.
    """

    bead_half_width_px: float = 45.0
    cap_height: float = 0.3
    mu_plate: float = 1.2
    noise: float = 0.01
    grain_px: float = 1.5
    white_noise: float = 0.005
    indications: int = 8
    kinds: dict[str, float] = field(
        default_factory=lambda: {"porosity": 0.35, "slag": 0.25, "crack": 0.2, "lack_of_fusion": 0.2}
    )

    def __post_init__(self) -> None:
        if not set(self.kinds) <= set(DRAWERS) or sum(self.kinds.values()) <= 0:
            raise ConfigError(f"WeldSettings.kinds: expected positive shares of {sorted(DRAWERS)}, got {self.kinds!r}")
        if self.noise < 0 or self.white_noise < 0 or self.grain_px <= 0:
            raise ConfigError("WeldSettings: noise and white_noise must be >= 0 and grain_px > 0")


@dataclass
class WeldRadiograph:
    image: np.ndarray  # float32 (rows, cols): transmitted intensity, bright = less steel
    mask: np.ndarray  # uint8 (rows, cols): indication class code, 0 = none
    instances: np.ndarray  # int32 (rows, cols): indication id, 0 = none
    indications: pd.DataFrame
    classes: dict[int, str]
    seed: int
    metadata: dict = field(default_factory=dict)

    def class_mask(self, kind: str) -> np.ndarray:
        """uint8 0/1 mask of one indication class."""
        if kind not in _CODES:
            raise ConfigError(f"class_mask: kind {kind!r} is not one of {sorted(_CODES)}")
        return (self.mask == _CODES[kind]).astype(np.uint8)


def weld_radiograph(
    shape: tuple[int, int] = (384, 1536), seed: int = 0, settings: WeldSettings | None = None
) -> WeldRadiograph:
    """A horizontal weld across the image with `settings.indications` indications."""
    settings = settings or WeldSettings()
    rows, cols = _check_shape(shape, settings)
    rng = np.random.default_rng(seed)
    bead = _bead_path(rows, cols, settings, rng)
    thickness = 1.0 + _cap(rows, cols, bead, settings, rng)
    instances = np.zeros((rows, cols), dtype=np.int32)
    found = _place_indications(thickness, instances, bead, settings, rng)
    mask = np.zeros((rows, cols), dtype=np.uint8)
    for pore_id, kind in enumerate(found, start=1):
        mask[instances == pore_id] = _CODES[kind]
    image = np.exp(-settings.mu_plate * thickness) / np.exp(-settings.mu_plate)
    image = image * 0.5 + _noise((rows, cols), settings, rng)
    return WeldRadiograph(
        np.clip(image, 0.0, 1.0).astype(np.float32),
        mask,
        instances,
        _table(instances, found),
        dict(INDICATION_CLASSES),
        seed,
        {
            "bead_half_width_px": settings.bead_half_width_px,
            "bead_centre_row": bead.centre.astype(float).tolist(),
            "grain_px": settings.grain_px,
            "noise": settings.noise,
        },
    )


def _check_shape(shape: tuple[int, ...], settings: WeldSettings) -> tuple[int, int]:
    dims = tuple(int(n) for n in shape)
    if len(dims) != 2 or dims[0] < 4 * settings.bead_half_width_px or dims[1] < 256:
        raise ConfigError(
            f"weld_radiograph shape: expected (rows, cols) with rows >= "
            f"{4 * settings.bead_half_width_px:.0f} and cols >= 256, got {shape!r}"
        )
    return dims


def _bead_path(rows: int, cols: int, settings: WeldSettings, rng: np.random.Generator) -> BeadPath:
    x = np.arange(cols)
    wander = 0.05 * rows * np.sin(2 * np.pi * x / rng.uniform(800, 2000) + rng.uniform(0, 6.3))
    return BeadPath(rows / 2.0 + wander, settings.bead_half_width_px)


def _cap(rows: int, cols: int, bead: BeadPath, settings: WeldSettings, rng: np.random.Generator) -> np.ndarray:
    """Extra thickness of the bead: a parabolic cap with solidification ripples."""
    r = np.arange(rows)[:, None]
    x = np.arange(cols)[None, :]
    across = (r - bead.centre[None, :]) / bead.half_width
    ripple = 1.0 + 0.06 * np.sin(2 * np.pi * (x + 8.0 * across**2) / rng.uniform(10, 18))
    return settings.cap_height * np.clip(1.0 - across**2, 0.0, None) * ripple


def _place_indications(
    thickness: np.ndarray, instances: np.ndarray, bead: BeadPath, settings: WeldSettings, rng: np.random.Generator
) -> list[str]:
    names = list(settings.kinds)
    shares = np.array([settings.kinds[k] for k in names], dtype=float)
    placed: list[str] = []
    for _ in range(20 * settings.indications):
        if len(placed) == settings.indications:
            break
        indication = DRAWERS[str(rng.choice(names, p=shares / shares.sum()))](bead, rng)
        if _fits(indication, instances):
            box = _box(indication)
            thickness[box] -= indication.loss
            instances[box][indication.loss > 0.01 * indication.loss.max()] = len(placed) + 1
            placed.append(indication.kind)
    return placed


def _box(indication: Indication) -> tuple[slice, slice]:
    rows, cols = indication.loss.shape
    return (slice(indication.r0, indication.r0 + rows), slice(indication.c0, indication.c0 + cols))


def _fits(indication: Indication, instances: np.ndarray) -> bool:
    rows, cols = indication.loss.shape
    inside = (
        indication.r0 >= 0
        and indication.c0 >= 0
        and indication.r0 + rows <= instances.shape[0]
        and indication.c0 + cols <= instances.shape[1]
    )
    return inside and indication.loss.max() > 0 and not instances[_box(indication)].any()


def _noise(shape: tuple[int, int], settings: WeldSettings, rng: np.random.Generator) -> np.ndarray:
    grain = ndimage.gaussian_filter(rng.normal(size=shape), settings.grain_px)
    grain *= settings.noise / (grain.std() + 1e-12)
    return grain + rng.normal(0.0, settings.white_noise, size=shape)


def _table(instances: np.ndarray, kinds: list[str]) -> pd.DataFrame:
    rows = []
    for index, box in enumerate(ndimage.find_objects(instances), start=1):
        if box is None:
            continue
        pixels = instances[box] == index
        rr, cc = np.nonzero(pixels)
        rows.append(
            {
                "id": index,
                "kind": kinds[index - 1],
                "class_code": _CODES[kinds[index - 1]],
                "centroid_row": rr.mean() + box[0].start,
                "centroid_col": cc.mean() + box[1].start,
                "bbox_r0": box[0].start,
                "bbox_c0": box[1].start,
                "bbox_r1": box[0].stop,
                "bbox_c1": box[1].stop,
                "area_px": int(pixels.sum()),
            }
        )
    columns = [
        "id",
        "kind",
        "class_code",
        "centroid_row",
        "centroid_col",
        "bbox_r0",
        "bbox_c0",
        "bbox_r1",
        "bbox_c1",
        "area_px",
    ]
    return pd.DataFrame(rows, columns=columns)

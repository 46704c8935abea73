"""The verdict a user reads: the part as the region of interest, the operating point that turns
a score map into pores (hysteresis, minimum size), internal and surface pores, porosity of the
part, and the calibration that picks the operating point on held-out scans. Arrays only: no
torch, no Ray."""

from porelab.verdict.calibrate import CalibrationConfig, CalibrationScan, calibrate, candidate_table, pick
from porelab.verdict.decide import CLASS_NAMES, INTERNAL, SURFACE, Decision, Verdict, class_mask, decide, judge
from porelab.verdict.operating_point import OBJECTIVES, OperatingPoint, stored_operating_point
from porelab.verdict.part import GreyLevels, PartConfig, PartSegmentation, grey_levels, part_from_mask, segment_part

__all__ = [
    "CLASS_NAMES",
    "CalibrationConfig",
    "CalibrationScan",
    "Decision",
    "GreyLevels",
    "INTERNAL",
    "OBJECTIVES",
    "OperatingPoint",
    "PartConfig",
    "PartSegmentation",
    "SURFACE",
    "Verdict",
    "calibrate",
    "candidate_table",
    "class_mask",
    "decide",
    "grey_levels",
    "judge",
    "part_from_mask",
    "pick",
    "segment_part",
    "stored_operating_point",
]

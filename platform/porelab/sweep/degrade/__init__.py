"""The degradation grid: a dataset scan re-simulated at fewer projections and less exposure,
scored by a registry model and the Otsu baseline at every point."""

from porelab.sweep.degrade.run import DegradeConfig, run_degradation

__all__ = ["DegradeConfig", "run_degradation"]

"""Pore labels from scans and pore tables: the Otsu labeller (Iuso et al., Algorithm 1),
connected components and per-pore measurements. Arrays only: no torch, no Ray."""

from porelab.label.components import drop_thin, label_components
from porelab.label.from_anomaly import AnomalyLabelConfig, AnomalyLabels, anomaly_labels, anomaly_threshold
from porelab.label.otsu import OtsuResult, object_mask, otsu_pores
from porelab.label.sphericity import surface_and_sphericity
from porelab.label.streaming import STREAMING_COLUMNS, streaming_pore_table
from porelab.label.table import COLUMNS, PoreTable, pore_table

__all__ = [
    "AnomalyLabelConfig",
    "AnomalyLabels",
    "COLUMNS",
    "OtsuResult",
    "anomaly_labels",
    "anomaly_threshold",
    "PoreTable",
    "drop_thin",
    "label_components",
    "object_mask",
    "otsu_pores",
    "pore_table",
    "STREAMING_COLUMNS",
    "streaming_pore_table",
    "surface_and_sphericity",
]

"""The one checkpoint format (`porelab-checkpoint/1`): written by training, read by inference,
evaluation, the sweeps and the service, with its fields typed in `CheckpointInfo`."""

from porelab.checkpoint.format import (
    FORMAT,
    LoadedCheckpoint,
    load_checkpoint,
    read_checkpoint,
    save_checkpoint,
    save_weights_only,
    store_operating_point,
    unwrap,
)
from porelab.checkpoint.info import CheckpointInfo

__all__ = [
    "FORMAT",
    "CheckpointInfo",
    "LoadedCheckpoint",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
    "save_weights_only",
    "store_operating_point",
    "unwrap",
]

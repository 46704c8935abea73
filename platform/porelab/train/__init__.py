"""Training: one loop for every model kind, run in-process or by Ray Train. The tasks the loop
trains with live below it, in `porelab.tasks` (re-exported here)."""

from porelab.tasks import Batch, SegmentationTask, Task, build_task, register_task, task_for_model, task_names
from porelab.train.loop import EpochResult, LoopConfig, LoopState, evaluate, run_training

__all__ = [
    "Batch",
    "EpochResult",
    "LoopConfig",
    "LoopState",
    "SegmentationTask",
    "Task",
    "build_task",
    "evaluate",
    "register_task",
    "run_training",
    "task_for_model",
    "task_names",
]

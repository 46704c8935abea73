"""Training: one loop for every model kind, run in-process or by Ray Train."""

from porelab.train.loop import EpochResult, LoopConfig, LoopState, evaluate, run_training
from porelab.train import anomaly_tasks  # noqa: F401  (registers the anomaly models' tasks)
from porelab.train.task import Batch, SegmentationTask, Task, build_task, register_task, task_for_model, task_names

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

"""What each model kind contributes to training and scoring (`Task`), and the registry that picks
a model's task. Importing the package registers the segmentation and anomaly tasks."""

from porelab.tasks import anomaly, segmentation  # noqa: F401  (register the built-in tasks)
from porelab.tasks.catalogue import Batch, Task, build_task, register_task, task_for_model, task_from_config, task_names
from porelab.tasks.segmentation import SegmentationTask

__all__ = [
    "Batch",
    "SegmentationTask",
    "Task",
    "build_task",
    "register_task",
    "task_for_model",
    "task_from_config",
    "task_names",
]

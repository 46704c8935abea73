"""Results on disk: one folder per request id (predict's outputs), deleted after a time to live,
and the oldest finished ones first when the folders together pass a disk budget."""

from __future__ import annotations

import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from porelab.serve.errors import RequestError

_ID = re.compile(r"^[0-9a-f]{32}$")
_FILES = {"mask": "mask.tif", "score": "score.npy"}
_DONE = ".done"
_ABANDONED_S = 6 * 3600.0  # an unfinished folder this old belongs to a request that never returned


@dataclass(frozen=True)
class ResultStore:
    """root: where the result folders are; ttl_s: how long a finished result stays fetchable;
    max_bytes: the disk the finished results may hold together (None: no budget). A folder whose
    request is still running is never deleted for the budget."""

    root: Path
    ttl_s: float
    max_bytes: int | None = None

    def new(self) -> tuple[str, Path]:
        """A fresh id and its (created) folder."""
        result_id = uuid.uuid4().hex
        folder = Path(self.root) / result_id
        folder.mkdir(parents=True)
        return result_id, folder

    def finish(self, result_id: str) -> None:
        """Mark `result_id` complete: its time to live starts now (a queued request is never swept);
        then keep the finished results within `max_bytes`."""
        (Path(self.root) / result_id / _DONE).touch()
        self.keep_within_budget()

    def keep_within_budget(self) -> list[str]:
        """Delete the oldest finished results until those left hold at most `max_bytes`; their ids.
        The newest result is kept even when it alone is over the budget: its request just got it."""
        if self.max_bytes is None:
            return []
        finished = sorted(
            (d for d in Path(self.root).iterdir() if d.is_dir() and _ID.match(d.name) and (d / _DONE).is_file()),
            key=lambda d: (d / _DONE).stat().st_mtime_ns,
        )
        sizes = [_folder_bytes(d) for d in finished]
        total, deleted = sum(sizes), []
        for folder, size in zip(finished[:-1], sizes[:-1]):
            if total <= self.max_bytes:
                break
            shutil.rmtree(folder, ignore_errors=True)
            total -= size
            deleted.append(folder.name)
        return deleted

    def file(self, result_id: str, kind: str) -> Path:
        """The mask or score file of `result_id`; 404 when unknown or expired."""
        if kind not in _FILES:
            raise RequestError(f"result kind {kind!r}; expected one of {', '.join(_FILES)}", 404)
        folder = Path(self.root) / result_id
        if not _ID.match(result_id) or not (folder / _DONE).is_file() or self._expired(folder):
            raise RequestError(f"result {result_id!r} not found (unknown, or expired after {self.ttl_s:g} s)", 404)
        return folder / _FILES[kind]

    def discard(self, result_id: str) -> None:
        shutil.rmtree(Path(self.root) / result_id, ignore_errors=True)

    def sweep(self) -> int:
        """Delete every expired result folder; returns how many."""
        root = Path(self.root)
        expired = (
            [d for d in root.iterdir() if d.is_dir() and _ID.match(d.name) and self._expired(d)]
            if root.is_dir()
            else []
        )
        for folder in expired:
            shutil.rmtree(folder, ignore_errors=True)
        return len(expired)

    def _expired(self, folder: Path) -> bool:
        try:
            if (folder / _DONE).is_file():
                return time.time() - (folder / _DONE).stat().st_mtime > self.ttl_s
            return time.time() - folder.stat().st_mtime > max(self.ttl_s, _ABANDONED_S)
        except FileNotFoundError:
            return True


def _folder_bytes(folder: Path) -> int:
    try:
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    except FileNotFoundError:  # swept meanwhile
        return 0

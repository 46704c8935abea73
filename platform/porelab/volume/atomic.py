"""Write to a temporary name beside the target, rename when complete.

An interrupted write then leaves only a hidden `.NAME.partial-PID` entry, never a file that
looks whole under the real name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator

from porelab.errors import VolumeError


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def check_writable(target: Path, overwrite: bool) -> None:
    if target.exists() and not overwrite:
        raise VolumeError(f"{target}: already exists; expected a new path (or pass overwrite=True / --overwrite)")
    if not target.parent.is_dir():
        raise VolumeError(f"{target}: parent directory {target.parent} does not exist; expected an existing directory")


@contextlib.contextmanager
def atomic_target(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces `target` (file or directory)."""
    target = Path(target)
    check_writable(target, overwrite)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    _remove(partial)
    try:
        yield partial
    except BaseException:
        _remove(partial)
        raise
    if partial.is_dir() and target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(partial, target)
        _remove(old)
    else:
        os.replace(partial, target)


def write_text_atomic(target: Path, text: str) -> None:
    """Small text files (sidecars, manifests): same guarantee as `atomic_target`."""
    with atomic_target(Path(target), overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")

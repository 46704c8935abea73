"""One build per dataset folder: an advisory lock held while a build writes.

Two `porelab simulate` runs into the same folder would write the same scans' files and each
rewrite the manifest from its own view, dropping the other's entries. `fcntl.flock` on a file
in the folder makes the second run fail at once with the first one's process id; the kernel
releases the lock when its holder exits, so a killed build leaves no stale lock to clear.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO, Iterator

from porelab.errors import ConfigError

LOCK_NAME = ".build.lock"


@contextlib.contextmanager
def dataset_lock(root: Path) -> Iterator[None]:
    """Hold the build lock of the dataset folder `root` (made if missing) for the block. On a
    file system without locks (some FUSE mounts) the block runs unguarded, as before.

    Example:
        >>> with dataset_lock(Path("data/am")):
        ...     build_scans()
    """
    Path(root).mkdir(parents=True, exist_ok=True)
    path = Path(root) / LOCK_NAME
    with open(path, "a+") as handle:
        if _locked(handle, root):
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
        yield


def _locked(handle: IO[str], root: Path) -> bool:
    """Take the lock on `handle`, the lock file of `root`: True when taken, False where the file
    system has no locks."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        raise ConfigError(
            f"{root}: another build is writing this dataset (lock {handle.name} held by process {holder}); "
            "expected one build per dataset folder: wait for it to finish, or choose another --out"
        ) from None
    except OSError:
        return False
    return True

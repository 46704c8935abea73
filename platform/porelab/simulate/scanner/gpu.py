"""Is there a GPU ASTRA can use? Probed once, in a subprocess.

ASTRA's 3D CUDA functions kill the Python process (SIGFPE) on a machine without a usable
GPU, and `astra.use_cuda()` alone is not proof (docs/field-notes.md). So a child process calls
`use_cuda()` and then projects a tiny 3D cone volume; only if the child exits cleanly does
this process ever call 3D code.
"""

from __future__ import annotations

import functools
import subprocess
import sys

from porelab.errors import ConfigError

_PROBE = """
import astra, numpy as np
astra.log.setOutputScreen(astra.log.STDERR, astra.log.ERROR)
assert astra.use_cuda()
vol = astra.create_vol_geom(4, 4, 4)
proj = astra.create_proj_geom('cone', 1.0, 1.0, 4, 4, np.linspace(0, np.pi, 3), 20.0, 20.0)
sino_id, sino = astra.create_sino3d_gpu(np.ones((4, 4, 4), np.float32), proj, vol)
astra.data3d.delete(sino_id)
assert np.isfinite(sino).all() and sino.max() > 0
print('cuda-ok')
"""


@functools.lru_cache(maxsize=1)
def cuda_available(timeout_s: float = 60.0) -> bool:
    """True when a subprocess could run a 3D CUDA projection with ASTRA."""
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and "cuda-ok" in done.stdout


def resolve_device(requested: str) -> str:
    """ "cpu" or "gpu" for a request of "auto", "cpu" or "gpu".

    "auto" falls back to the CPU slice-wise path when the probe fails; an explicit "gpu" on a
    machine without a usable GPU is a `ConfigError`, never a crash.
    """
    if requested == "cpu":
        return "cpu"
    if requested not in ("auto", "gpu"):
        raise ConfigError(f"device={requested!r}: expected 'auto', 'cpu' or 'gpu'")
    if cuda_available():
        return "gpu"
    if requested == "gpu":
        raise ConfigError(
            "device='gpu': no usable CUDA GPU for ASTRA on this machine (the probe in a "
            "subprocess failed); use device='auto' (CPU slice-wise fallback) or 'cpu'"
        )
    return "cpu"

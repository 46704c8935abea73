"""Big volumes are read slab by slab; interrupted writes never leave a whole-looking file."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from porelab import volume


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc for RSS")
def test_slab_of_sparse_multi_gb_raw_costs_the_slab(tmp_path):
    nz, ny, nx = 1024, 1024, 1024  # 4 GiB of float32, sparse on disk
    path = tmp_path / "huge.raw"
    subprocess.run(["truncate", "-s", str(nz * ny * nx * 4), str(path)], check=True)
    (tmp_path / "huge.raw.info").write_text(f"NUM_X = {nx}\nNUM_Y = {ny}\nNUM_Z = {nz}\n")
    before = _rss_bytes()
    vol = volume.read(path)  # 4 GiB: no eager NaN scan above 1 GiB
    slab = vol[500:504]  # 16 MiB
    grown = _rss_bytes() - before
    assert slab.shape == (4, 1024, 1024) and not slab.any()
    assert grown < 64 * 2**20, f"reading a 16 MiB slab grew RSS by {grown / 2**20:.0f} MiB"


def test_interrupted_write_leaves_no_target(tmp_path):
    script = textwrap.dedent(f"""
        import os, numpy as np
        from porelab import volume
        from porelab.volume import core

        vol = volume.Volume(np.ones((64, 64, 64), np.float32), 1.0)
        original = core.Volume.iter_slabs
        def iter_slabs(self, thickness):
            for i, item in enumerate(original(self, 4)):
                if i == 3:
                    os._exit(9)  # the process dies mid-write
                yield item
        core.Volume.iter_slabs = iter_slabs
        volume.write(vol, {str(tmp_path / "out.npy")!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == 9
    assert not (tmp_path / "out.npy").exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name.startswith(".out.npy.partial-") for name in leftovers)


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = volume.write(np.full((4, 4, 4), 7, np.uint8), tmp_path / "keep.zarr")

    class Boom(Exception):
        pass

    def broken_slabs(self, thickness):
        yield 0, np.zeros((1, 4, 4), np.uint8)
        raise Boom()

    original = volume.Volume.iter_slabs
    volume.Volume.iter_slabs = broken_slabs
    try:
        with pytest.raises(Boom):
            volume.write(np.zeros((4, 4, 4), np.uint8), path, overwrite=True)
    finally:
        volume.Volume.iter_slabs = original
    np.testing.assert_array_equal(volume.read(path).to_numpy(), 7)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.zarr"]

"""STL parts voxelised by ray parity, against closed-form volumes."""

import struct

import numpy as np
import pytest

from porelab.errors import ConfigError
from porelab.simulate.phantoms.mesh import read_stl, voxelize


def _box(size):
    """The 12 triangles of an axis-aligned box from the origin to `size` (x, y, z), outward."""
    x, y, z = size
    v = np.array([[0, 0, 0], [x, 0, 0], [x, y, 0], [0, y, 0], [0, 0, z], [x, 0, z], [x, y, z], [0, y, z]], float)
    faces = [
        (0, 2, 1),
        (0, 3, 2),
        (4, 5, 6),
        (4, 6, 7),
        (0, 1, 5),
        (0, 5, 4),
        (2, 3, 7),
        (2, 7, 6),
        (1, 2, 6),
        (1, 6, 5),
        (0, 4, 7),
        (0, 7, 3),
    ]
    return v[np.array(faces)]


def _write_binary(path, triangles):
    with open(path, "wb") as handle:
        handle.write(b"\0" * 80 + struct.pack("<I", len(triangles)))
        for tri in triangles:
            handle.write(struct.pack("<3f", 0, 0, 0) + tri.astype("<f4").tobytes() + b"\0\0")


def _write_ascii(path, triangles):
    lines = ["solid part"]
    for tri in triangles:
        lines += [
            "facet normal 0 0 0",
            "outer loop",
            *[f"vertex {a} {b} {c}" for a, b, c in tri],
            "endloop",
            "endfacet",
        ]
    path.write_text("\n".join(lines + ["endsolid part"]))


@pytest.mark.parametrize("writer", [_write_binary, _write_ascii])
def test_a_box_fills_exactly_its_voxels(tmp_path, writer):
    writer(tmp_path / "box.stl", _box((10.0, 6.0, 4.0)))
    solid = voxelize(read_stl(tmp_path / "box.stl"), 0.5, margin=2)
    assert solid.shape == (8 + 4, 12 + 4, 20 + 4)  # (z, y, x) with 2 voxels of air each side
    assert solid.sum() == 20 * 12 * 8 and solid[2:-2, 2:-2, 2:-2].all()


def test_a_tetrahedron_and_a_hollow_box_have_their_volumes():
    corner = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], float)
    tetra = corner[np.array([(0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3)])]
    solid = voxelize(tetra, 0.25)
    # 1000/6 mm^3 in voxels of 0.25^3; the staircase surface errs by well under 3 %
    assert solid.sum() * 0.25**3 == pytest.approx(1000 / 6, rel=0.03)
    outer, inner = _box((8.0, 8.0, 8.0)), _box((4.0, 4.0, 4.0)) + 2.0
    shell = voxelize(np.concatenate([outer, inner[:, ::-1]]), 0.5)  # the cavity's facets face inwards
    assert shell.sum() * 0.125 == pytest.approx(512 - 64)


def test_not_an_stl_is_named(tmp_path):
    (tmp_path / "x.stl").write_text("hello")
    with pytest.raises(ConfigError, match=r"x.stl: not an STL file"):
        read_stl(tmp_path / "x.stl")

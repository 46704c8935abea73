"""Implicit pore solids and their partial-volume rendering against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from porelab.simulate.phantoms.canvas import PoreCanvas
from porelab.simulate.phantoms.render import render
from porelab.simulate.phantoms.shapes import Capsule, Ellipsoid, Union, rotation_zyx, sphere


@pytest.mark.parametrize("radius", [1.5, 4.0, 9.0])
def test_rendered_sphere_volume_matches_closed_form(radius):
    rendered = render(sphere(np.array([20.3, 19.8, 20.1]), radius), (40, 40, 40), supersample=5)
    assert rendered.fraction.sum() == pytest.approx(4.0 / 3.0 * np.pi * radius**3, rel=0.03)


def test_rendered_capsule_volume_matches_closed_form():
    axis = rotation_zyx(np.deg2rad(25.0), 1.0)[0]
    centre = np.array([20.0, 20.0, 20.0])
    capsule = Capsule(centre - 5.0 * axis, centre + 5.0 * axis, 3.0)
    volume = np.pi * 3.0**2 * 10.0 + 4.0 / 3.0 * np.pi * 3.0**3
    assert render(capsule, (40, 40, 40), supersample=5).fraction.sum() == pytest.approx(volume, rel=0.03)


def test_supersampling_only_changes_voxels_near_the_surface():
    shape = Ellipsoid(np.array([10.0, 10.2, 9.7]), np.array([6.0, 4.0, 2.5]), rotation_zyx(0.4, 0.3, 0.2))
    exact = render(shape, (20, 20, 20), supersample=1)
    fine = render(shape, (20, 20, 20), supersample=4)
    partial = (fine.fraction > 0) & (fine.fraction < 1)
    assert partial.any()
    assert np.array_equal(exact.fraction[fine.fraction == 1], np.ones((fine.fraction == 1).sum()))
    assert fine.fraction.sum() == pytest.approx(4.0 / 3.0 * np.pi * 6.0 * 4.0 * 2.5, rel=0.03)


def test_ellipsoid_distance_never_overstates_the_true_distance():
    rng = np.random.default_rng(1)
    ellipsoid = Ellipsoid(np.zeros(3), np.array([5.0, 2.0, 1.0]), rotation_zyx(0.7, 0.2, 0.5))
    # dense points on the surface: local unit sphere scaled by the axes, rotated back
    u = rng.normal(size=(8000, 3))
    surface = (u / np.linalg.norm(u, axis=1, keepdims=True) * ellipsoid.axes) @ ellipsoid.rotation
    points = rng.uniform(-7.0, 7.0, size=(300, 3))
    true = np.min(np.linalg.norm(points[:, None, :] - surface[None], axis=2), axis=1)
    assert np.all(np.abs(ellipsoid.distance(points)) <= true + 0.05)  # 0.05: surface sampling


def test_box_outside_the_grid_renders_nothing():
    assert render(sphere(np.array([-10.0, 5.0, 5.0]), 2.0), (10, 10, 10)) is None


def test_a_pore_in_separate_pieces_keeps_one_instance_id():
    from scipy import ndimage

    solid = np.ones((30, 30, 30), dtype=bool)
    canvas = PoreCanvas(solid, solid)
    pieces = Union((sphere(np.array([15.0, 8.0, 8.0]), 2.5), sphere(np.array([15.0, 20.0, 20.0]), 2.5)))
    assert canvas.place(pieces, "lack_of_fusion", surface=False) > 0
    _, n_pieces = ndimage.label(canvas.labels == 1)
    assert n_pieces == 2 and canvas.labels.max() == 1


def test_overlapping_and_touching_pores_are_rejected():
    solid = np.ones((30, 30, 30), dtype=bool)
    canvas = PoreCanvas(solid, solid)
    assert canvas.place(sphere(np.array([15.0, 15.0, 15.0]), 3.0), "gas", surface=False) > 0
    assert canvas.place(sphere(np.array([15.0, 15.0, 20.0]), 3.0), "gas", surface=False) == 0
    assert canvas.place(sphere(np.array([15.0, 15.0, 23.0]), 3.0), "gas", surface=False) > 0

"""Attenuation tables: physically ordered, mixture rule consistent, spectrum hardens with filtration."""

from __future__ import annotations

import numpy as np
import pytest

from porelab.errors import ConfigError
from porelab.simulate.materials import BIN_ENERGIES_KEV, MATERIALS, Material, attenuation_per_mm, tungsten_spectrum


def test_denser_higher_z_materials_attenuate_more_at_every_energy():
    order = ["CoCr", "316L", "Ti6Al4V", "AlSi7Mg", "PA66"]
    mu = np.stack([attenuation_per_mm(k) for k in order])
    assert (np.diff(mu, axis=0) < 0).all()
    assert (np.diff(mu, axis=1) < 0).all()  # no absorption edge between 50 and 150 keV here
    assert (attenuation_per_mm("air") == 0).all()
    # E-glass (Ca-bearing, 2.58 g/cm^3) and cast aluminium (2.68 g/cm^3) attenuate alike
    assert attenuation_per_mm("E-glass") == pytest.approx(attenuation_per_mm("AlSi7Mg"), rel=0.1)


def test_mixture_rule_and_units():
    iron = Material("Fe", 7.874, {"Fe": 1.0})
    # NIST: iron mu/rho at 100 keV = 0.3717 cm^2/g -> mu = 0.3717 * 7.874 / 10 per mm
    assert iron.linear_attenuation_per_mm()[BIN_ENERGIES_KEV.index(100.0)] == pytest.approx(0.3717 * 0.7874)
    half = Material("mix", 1.0, {"Fe": 1.0, "Ti": 1.0}).mass_attenuation()
    assert half == pytest.approx(
        0.5 * (Material("a", 1, {"Fe": 1}).mass_attenuation() + Material("b", 1, {"Ti": 1}).mass_attenuation())
    )
    glass = MATERIALS["E-glass"].composition
    assert sum(glass.values()) == pytest.approx(1.0, abs=1e-3)
    assert glass["O"] == pytest.approx(0.47, abs=0.02)  # E-glass is ~47 % oxygen by mass


def test_filtration_hardens_the_spectrum():
    energies = np.asarray(BIN_ENERGIES_KEV)
    soft, hard = tungsten_spectrum(160.0, 0.0), tungsten_spectrum(220.0, 2.0)
    assert soft.sum() == pytest.approx(1.0) and hard.sum() == pytest.approx(1.0)
    assert (hard * energies).sum() > (soft * energies).sum() + 20.0
    with pytest.raises(ConfigError, match="tube_kv"):
        tungsten_spectrum(100.0)
    with pytest.raises(ConfigError, match="unknown key"):
        attenuation_per_mm("unobtainium")

"""Sweep concurrency follows the cluster's CPUs and memory; trials ask for what they train with
and the custom node resources the user names."""

import argparse
from types import SimpleNamespace

import pytest

from porelab.sweep.job_args import resource_amount
from porelab.sweep.plan import TrialPlan
from porelab.sweep.resources import TRIAL_MEMORY_BYTES, concurrent_trials, trial_resources, trials_that_fit

GIB = 2**30


def test_a_two_core_laptop_runs_three_trials_and_memory_can_lower_that():
    assert trials_that_fit(2, 16 * GIB, trial_cpus=0.1, worker_cpus=0.5) == 3  # 2 // 0.6
    assert trials_that_fit(2, 2 * TRIAL_MEMORY_BYTES, 0.1, 0.5) == 2
    assert trials_that_fit(64, 512 * GIB, 0.1, 4.0) == 15  # 64 // 4.1
    assert trials_that_fit(1, 0.5 * GIB, 0.1, 0.5) == 1  # never zero


def test_an_explicit_setting_wins_without_asking_ray():
    assert concurrent_trials(SimpleNamespace(max_concurrent=5, trial_cpus=0.1, worker_cpus=0.5)) == 5


def _plans(workers):
    return [TrialPlan("unet", 0, "data/am", {"scaling": {"workers": workers}}, ("scan-0",))]


def test_a_trial_asks_for_its_workers_cpus_when_it_trains_itself_and_for_the_named_resources():
    assert trial_resources(0.1, 0.5, _plans(0)) == pytest.approx({"cpu": 0.6})
    assert trial_resources(0.1, 0.5, _plans(1)) == pytest.approx({"cpu": 0.1})  # Train workers ask for their own
    assert trial_resources(0.1, 0.5, _plans(0), {"trainer": 1.0}) == pytest.approx({"cpu": 0.6, "trainer": 1.0})


@pytest.mark.parametrize("text, expected", [("trainer=1", ("trainer", 1.0)), (" gpu_node = 0.5", ("gpu_node", 0.5))])
def test_a_resource_argument_is_a_name_and_a_positive_amount(text, expected):
    assert resource_amount(text) == expected


@pytest.mark.parametrize("text", ["trainer", "trainer=", "=1", "trainer=0", "trainer=-1", "trainer=many"])
def test_a_bad_resource_argument_says_what_was_expected(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected NAME=AMOUNT with a positive amount"):
        resource_amount(text)

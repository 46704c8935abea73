"""Sweep concurrency follows the cluster's CPUs and memory."""

from types import SimpleNamespace

from porelab.sweep.resources import TRIAL_MEMORY_BYTES, concurrent_trials, trials_that_fit

GIB = 2**30


def test_a_two_core_laptop_runs_three_trials_and_memory_can_lower_that():
    assert trials_that_fit(2, 16 * GIB, trial_cpus=0.1, worker_cpus=0.5) == 3  # 2 // 0.6
    assert trials_that_fit(2, 2 * TRIAL_MEMORY_BYTES, 0.1, 0.5) == 2
    assert trials_that_fit(64, 512 * GIB, 0.1, 4.0) == 15  # 64 // 4.1
    assert trials_that_fit(1, 0.5 * GIB, 0.1, 0.5) == 1  # never zero


def test_an_explicit_setting_wins_without_asking_ray():
    assert concurrent_trials(SimpleNamespace(max_concurrent=5, trial_cpus=0.1, worker_cpus=0.5)) == 5

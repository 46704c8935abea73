"""The sweep jobs' console: one line per finished or failed trial with its figures, a link to
Ray's logs in the run directory, and a callback Tune can pickle with its run config."""

from types import SimpleNamespace

import cloudpickle
import pytest

from porelab.sweep.console import LOG_LINK, SweepConsole, link_ray_logs, ray_log_dir


def _trial(model, fold, result=None, path="/runs/cv/tune/trial_0"):
    return SimpleNamespace(config={"model": model, "fold": fold}, last_result=result or {}, local_path=path)


def test_each_finished_trial_gets_one_line_with_its_figures_and_count():
    lines = []
    console = SweepConsole(3, lambda c: f"{c['model']} fold {c['fold']}", write=lines.append)
    console.on_trial_start(0, [], _trial("unet", 0))
    console.on_trial_complete(0, [], _trial("unet", 0, {"val_dice": 0.8125, "val_ap": 0.5, "time_total_s": 33.6}))
    console.on_trial_error(0, [], _trial("vae", 1))
    console.on_trial_complete(0, [], _trial("vae", 0, {"val_dice": 0.25}))
    assert lines == [
        "[1/3] unet fold 0: Dice 0.812, AP 0.500, 34 s",
        "[2/3] vae fold 1: FAILED (its error is in /runs/cv/tune/trial_0)",
        "[3/3] vae fold 0: Dice 0.250",
    ]
    assert (console.done, console.failed, console.running) == (2, 1, 0)


def test_tune_can_pickle_the_console_with_its_run_config():
    console = SweepConsole(2, lambda c: str(c))
    console._progress = object()  # a live bar holds locks and threads; it is never pickled
    restored = cloudpickle.loads(cloudpickle.dumps(console))
    assert restored.total == 2 and restored._progress is None


@pytest.mark.ray
def test_the_run_directory_links_to_the_ray_sessions_logs(tmp_path, ray_session):
    link = link_ray_logs(tmp_path)
    assert link == tmp_path / LOG_LINK and link.is_symlink() and link.resolve() == ray_log_dir().resolve()
    assert any(link.glob("raylet*"))  # the session's own log files
    assert link_ray_logs(tmp_path) == link  # a rerun replaces the link

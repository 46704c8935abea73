"""The result store: ids map to folders, expired results are gone (404) and swept."""

import os
import time

import pytest

from porelab.serve import RequestError, ResultStore


def test_results_expire_and_are_swept(tmp_path):
    store = ResultStore(tmp_path, ttl_s=60)
    fresh, old, running = store.new(), store.new(), store.new()
    for result_id, folder in (fresh, old, running):
        (folder / "mask.tif").write_bytes(b"x")
    with pytest.raises(RequestError, match="not found"):
        store.file(running[0], "mask")  # not finished yet
    for result_id, _ in (fresh, old):
        store.finish(result_id)
    assert store.file(fresh[0], "mask") == fresh[1] / "mask.tif"
    past = time.time() - 120
    os.utime(old[1] / ".done", (past, past))
    os.utime(running[1], (past, past))  # a request queued longer than the time to live is kept
    with pytest.raises(RequestError, match="not found") as err:
        store.file(old[0], "mask")
    assert err.value.status == 404
    assert store.sweep() == 1 and not old[1].exists() and fresh[1].exists() and running[1].exists()


@pytest.mark.parametrize("result_id, kind", [("../etc", "mask"), ("0" * 32, "mask"), ("0" * 32, "weights")])
def test_unknown_ids_and_kinds_are_404(tmp_path, result_id, kind):
    with pytest.raises(RequestError) as err:
        ResultStore(tmp_path, ttl_s=60).file(result_id, kind)
    assert err.value.status == 404


def test_the_oldest_finished_results_go_first_when_the_disk_budget_is_passed(tmp_path):
    """Three finished results of 1000 bytes each and a running one of 5000 under a 2500-byte
    budget: the oldest finished one goes, the running one is never counted or touched."""
    store = ResultStore(tmp_path, ttl_s=3600, max_bytes=2500)
    running = store.new()
    (running[1] / "score.npy").write_bytes(b"r" * 5000)
    finished = []
    for age in (300, 200, 100):
        result_id, folder = store.new()
        (folder / "mask.tif").write_bytes(b"x" * 1000)
        (folder / ".done").touch()
        os.utime(folder / ".done", (time.time() - age, time.time() - age))
        finished.append((result_id, folder))
    assert store.keep_within_budget() == [finished[0][0]]
    assert [folder.exists() for _, folder in finished] == [False, True, True] and running[1].exists()
    assert store.keep_within_budget() == []  # 2000 bytes left: within the budget

    newest, folder = store.new()
    (folder / "mask.tif").write_bytes(b"x" * 4000)  # alone over the budget
    store.finish(newest)  # finishing trims: both older ones go, the newest is kept for its request
    assert [f.exists() for _, f in finished] == [False, False, False] and folder.exists()
    assert ResultStore(tmp_path, ttl_s=3600).keep_within_budget() == []  # no budget: nothing deleted

"""Progress bars: drawn only for a person at a terminal, and the counter's count is rich's."""

from __future__ import annotations

import io
import sys

from porelab.progress import counter, track


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert list(track(range(3))) == [0, 1, 2]
    with counter(3) as advance:
        advance()
    assert sys.stderr.getvalue() == ""


def test_a_counter_counts_on_from_the_units_done_before(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    import rich.progress

    seen = {}
    real_advance = rich.progress.Progress.advance

    def spy(self, task_id, advance=1):
        real_advance(self, task_id, advance)
        seen["completed"] = self.tasks[0].completed

    monkeypatch.setattr(rich.progress.Progress, "advance", spy)
    with counter(5, done=2, description="slabs") as advance:
        advance()
        advance()
    assert seen["completed"] == 4

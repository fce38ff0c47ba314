"""Progress lines: throttled by time, always the last one, with done/total and the rate."""

from __future__ import annotations

from sfxero_dagster.core.progress import Progress


def test_lines_are_throttled_and_the_last_is_always_written() -> None:
    now = [0.0]
    lines: list[str] = []
    p = Progress(lines.append, "Salesforce Account read", 1000, unit="rows", interval=5, clock=lambda: now[0])
    for _ in range(9):  # 9 pages in 4.5 s: no line yet
        now[0] += 0.5
        p.add(100)
    assert lines == []
    now[0] += 1.0
    p.add(50)  # 5.5 s since the start: one line
    assert lines == ["Salesforce Account read: 950/1,000 (95%) rows, 172.7/s"]
    now[0] += 0.5
    p.add(50)  # the total is reached: written at once, whatever the interval
    p.finish()  # and not twice
    assert lines[1:] == ["Salesforce Account read: 1,000/1,000 (100%) rows, 166.7/s"]


def test_without_a_total_finish_reports_the_count() -> None:
    now = [0.0]
    lines: list[str] = []
    p = Progress(lines.append, "Xero contacts read", clock=lambda: now[0])
    now[0] = 2.0
    p.add(3000)
    p.finish()
    assert lines == ["Xero contacts read: 3,000 records, 1,500.0/s"]


def test_no_log_function_means_silence() -> None:
    p = Progress(None, "x", 10)
    p.add(10)
    p.finish()
    assert p.done == 10

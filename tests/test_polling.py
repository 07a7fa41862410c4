"""The pacing of execution polls (swan_jupyter.actors._polling): no sandbox needed."""

from __future__ import annotations

import itertools
import threading

import pytest

from swan_jupyter.actors._polling import MAX_INTERVAL, MIN_INTERVAL, Pace


def test_without_history_the_polls_back_off_from_the_minimum() -> None:
    delays = list(itertools.islice(Pace().delays(), 12))
    assert delays[0] == MIN_INTERVAL and delays[1] == MIN_INTERVAL
    assert delays[2] == pytest.approx(MIN_INTERVAL * 1.5)
    assert all(b >= a for a, b in itertools.pairwise(delays[1:]))
    assert max(delays) == MAX_INTERVAL


def test_the_first_look_waits_most_of_the_typical_turnaround_then_short_intervals() -> None:
    pace = Pace()
    for seconds in (0.8, 1.0, 1.2, 1.0, 30.0):  # one outlier does not move the median
        pace.observe(seconds)
    assert pace.typical() == 1.0
    delays = list(itertools.islice(pace.delays(), 10))
    assert delays[0] == pytest.approx(0.7)
    assert delays[1] == pytest.approx(0.1)  # a tenth of the typical turnaround, growing ...
    assert max(delays[1:]) == pytest.approx(0.25)  # ... up to a quarter of it
    # A call like the others is seen ended within a few looks of its end.
    looked, waited = 0, 0.0
    for delay in pace.delays():
        waited += delay
        looked += 1
        if waited >= 1.0:
            break
    assert looked <= 4


def test_a_fast_actor_is_never_polled_in_a_busy_loop() -> None:
    pace = Pace()
    for _ in range(5):
        pace.observe(0.001)
    assert min(itertools.islice(pace.delays(), 20)) >= MIN_INTERVAL


def test_a_long_call_is_looked_at_no_more_often_than_max_interval() -> None:
    pace = Pace()
    pace.observe(60.0)
    delays = list(itertools.islice(pace.delays(), 20))
    assert delays[0] == pytest.approx(42.0) and max(delays[1:]) == MAX_INTERVAL == min(delays[1:])


def test_the_window_follows_a_changing_load_and_is_thread_safe() -> None:
    pace = Pace(window=8)
    threads = [threading.Thread(target=lambda: [pace.observe(5.0) for _ in range(200)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pace.typical() == 5.0
    for _ in range(8):
        pace.observe(0.2)
    assert pace.typical() == pytest.approx(0.2)
    assert next(pace.delays()) == pytest.approx(0.14)

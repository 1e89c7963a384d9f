"""How many evacuate requests go at once: the window follows Nova's
answer times."""

from __future__ import annotations

import threading

import pytest

from osc_evacuate.core.pacing import Pacer, next_window


@pytest.mark.parametrize(
    ("window", "fastest", "recent", "ceiling", "then"),
    [
        (1, 0.2, 0.2, 4, 2),  # as fast as ever: one more
        (2, 0.2, 0.29, 4, 3),  # within 1.5 times the fastest: one more
        (4, 0.2, 0.2, 4, 4),  # never past the ceiling
        (3, 0.2, 0.4, 4, 3),  # slower, not much: keep it
        (3, 0.2, 0.5, 4, 2),  # 2.5 times slower: one fewer
        (1, 0.2, 5.0, 4, 1),  # never below one
    ],
)
def test_the_window_grows_while_answers_keep_pace(
    window: int, fastest: float, recent: float, ceiling: int, then: int
) -> None:
    assert next_window(window, fastest, recent, ceiling) == then


def test_a_nova_that_answers_in_parallel_gets_requests_in_parallel() -> None:
    pacer = Pacer(4)
    for _ in range(10):
        assert pacer.acquire(lambda: False)
        pacer.release(0.1)
    assert pacer.window == 4


def test_a_nova_that_slows_with_each_request_gets_them_one_at_a_time() -> None:
    pacer = Pacer(8)
    # Each answer takes as long as the requests in flight make it.
    for _ in range(40):
        held = 0
        while pacer.in_flight < pacer.window and pacer.acquire(lambda: False):
            held += 1
        for _ in range(held):
            pacer.release(0.2 * held)
    assert pacer.window <= 2


def test_cancel_frees_a_waiting_thread() -> None:
    pacer = Pacer(1)
    assert pacer.acquire(lambda: False)
    cancel = threading.Event()
    got: list[bool] = []
    waiter = threading.Thread(
        target=lambda: got.append(pacer.acquire(cancel.is_set))
    )
    waiter.start()
    cancel.set()
    waiter.join(2)
    assert got == [False]

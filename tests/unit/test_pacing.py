"""How many evacuate requests go at once: the window follows Nova's
answer times."""

from __future__ import annotations

import threading

import pytest

from osc_evacuate.core.pacing import FIRST_ROUND, ROUND, Pacer, next_window


@pytest.mark.parametrize(
    ("window", "fastest", "recent", "ceiling", "then"),
    [
        (1, 0.2, 0.2, 4, (2, 4)),  # as fast as ever: one more
        (2, 0.2, 0.29, 4, (3, 4)),  # within 1.5 times the fastest: one more
        (4, 0.2, 0.2, 4, (4, 4)),  # never past the ceiling
        (3, 0.2, 0.4, 4, (3, 4)),  # slower, not much: keep it
        (3, 0.2, 0.5, 4, (2, 2)),  # 2.5 times slower: one fewer, for good
        (2, 0.2, 0.4, 4, (1, 1)),  # no faster than one at a time: one
        (2, 0.2, 0.38, 4, (2, 4)),  # two buy something: keep them
        (1, 0.2, 5.0, 4, (1, 4)),  # never below one
    ],
)
def test_the_window_grows_while_answers_keep_pace(
    window: int,
    fastest: float,
    recent: float,
    ceiling: int,
    then: tuple[int, int],
) -> None:
    assert next_window(window, fastest, recent, ceiling) == then


def answer_all(pacer: Pacer, seconds: float) -> None:
    """Fill the window, then answer every request in seconds."""
    held = 0
    while pacer.in_flight < pacer.window and pacer.acquire(lambda: False):
        held += 1
    for _ in range(held):
        pacer.release(seconds)


def test_a_nova_that_answers_in_parallel_gets_requests_in_parallel() -> None:
    pacer = Pacer(4)
    for _ in range(20):
        answer_all(pacer, 0.1)
    assert pacer.window == 4


def test_a_nova_that_slows_with_each_request_gets_them_one_at_a_time() -> None:
    pacer = Pacer(8)
    seen = set()
    for _ in range(40):
        seen.add(pacer.window)
        answer_all(pacer, 0.2 * pacer.window)
    # Two were tried once, bought nothing, and never again.
    assert pacer.window == 1
    assert seen == {1, 2}


def test_answers_slowing_after_the_first_keep_one_at_a_time() -> None:
    # An evacuate request is answered before Nova does its work (a cast to
    # the conductor): the first answers, of an idle Nova, are fast; those
    # after them slow as the work of the requests before them runs beside.
    pacer = Pacer(4)
    for seconds in [0.1, 0.13, 0.16, 0.19] + [0.2] * 20:
        answer_all(pacer, seconds)
        assert pacer.window == 1


def test_a_round_is_several_answers_a_request_in_flight() -> None:
    pacer = Pacer(4)
    for _ in range(FIRST_ROUND - 1):
        answer_all(pacer, 0.1)
    assert pacer.window == 1
    answer_all(pacer, 0.1)
    assert pacer.window == 2
    # Then ROUND answers for each of the two in flight.
    for _ in range(ROUND * 2 - 1):
        pacer.acquire(lambda: False)
        pacer.release(0.1)
    assert pacer.window == 2
    pacer.acquire(lambda: False)
    pacer.release(0.1)
    assert pacer.window == 3


def test_the_first_fast_answers_of_an_idle_nova_do_not_decide() -> None:
    # As on the sandbox: four answers in 0.1 s before the work of the
    # first requests runs beside them, then each in 0.22 s.
    pacer = Pacer(4)
    for seconds in [0.1] * 4 + [0.22] * 30:
        answer_all(pacer, seconds)
        assert pacer.window == 1


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

import threading
import time

import pytest

from clickstream_assets.prefetch import prefetched


def test_prefetched_yields_every_item_in_order():
    items = list(prefetched(iter(range(1_000)), depth=3))

    assert items == list(range(1_000))


def test_prefetched_runs_on_another_thread_at_most_depth_ahead():
    produced: list[tuple[int, str]] = []

    def source():
        for number in range(6):
            produced.append((number, threading.current_thread().name))
            yield number

    consumed, leads = [], []
    for item in prefetched(source(), depth=2, name="reader"):
        time.sleep(0.05)  # let the thread run as far ahead as it may
        consumed.append(item)
        leads.append(len(produced) - (item + 1))

    assert consumed == list(range(6))
    # Ahead of the item in hand: `depth` waiting, and one the thread holds until there is room.
    assert max(leads) == 3
    assert {name for _, name in produced} == {"reader"}


def test_prefetched_raises_the_error_of_the_thread_after_the_items_before_it():
    def source():
        yield 1
        yield 2
        raise ValueError("line 3 is broken")

    got = []
    with pytest.raises(ValueError, match="line 3 is broken"):
        for item in prefetched(source()):
            got.append(item)

    assert got == [1, 2]


def test_prefetched_stops_the_thread_when_the_caller_stops_early():
    closed = threading.Event()

    def endless():
        try:
            number = 0
            while True:
                yield number
                number += 1
        finally:
            closed.set()

    items = prefetched(endless(), name="endless")
    first = [next(items), next(items)]
    items.close()

    assert first == [0, 1]
    assert closed.is_set()
    assert "endless" not in {thread.name for thread in threading.enumerate()}

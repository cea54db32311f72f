"""Running a producer of work items one step ahead of the code that uses them.

A load that consumes a batch from Kafka, then writes it to the warehouse, then consumes the
next, leaves one of the two idle at every moment. `prefetched` moves the iteration onto a
thread: while the caller writes batch k, the thread already reads batch k + 1. Both sides
spend most of their time in C code that releases the GIL (librdkafka, DuckDB, Arrow), so on
two cores they truly overlap.

At most `depth` items wait in memory. An exception on the thread reaches the caller at the
next item; a caller that stops early (an exception, `break`, closing the generator) stops the
thread before `prefetched` returns, so nothing keeps using a client the caller closes next.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
# How often a blocked thread looks whether the caller has gone.
_POLL_S = 0.1


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterable[T], depth: int = 1, name: str = "prefetch") -> Iterator[T]:
    """The items of `items`, produced on a thread that runs up to `depth` items ahead."""
    ready: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not hand_over(item):
                    return
        except BaseException as error:  # handed to the caller, who re-raises it
            hand_over(_Failure(error))
            return
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
        hand_over(_DONE)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()

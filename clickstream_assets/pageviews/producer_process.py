"""One producer process of `publish.publish_hour_parallel`.

Reads one JSON line from stdin (producer settings, the message's topic, source file and hour,
and the flush timeout), then an Arrow IPC stream of typed pageview batches, produces every
row, waits for the acknowledgements and writes its counts as JSON on stdout. A failure is
written as `{"error": ...}` with exit code 1.
"""

from __future__ import annotations

import json
import sys

import pyarrow as pa
from confluent_kafka import Producer

from clickstream_assets.pageviews.publish import Message, PublishResult, finish, produce_batch


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout
    result = PublishResult()
    try:
        spec = json.loads(stdin.readline())
        producer = Producer(spec["settings"])
        message = Message(**spec["message"])
        # A worker dealt no batch gets no stream at all, only the end of its input.
        if stdin.peek(1):
            for batch in pa.ipc.open_stream(stdin):
                produce_batch(producer, message, batch, result)
        finish(producer, result, spec["flush_s"])
    except Exception as error:  # reported to the parent, which fails the run with it
        stdout.write(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 1
    report = {
        "messages": result.messages,
        "value_bytes": result.value_bytes,
        "failed": result.failed,
        "first_error": result.first_error,
    }
    stdout.write(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

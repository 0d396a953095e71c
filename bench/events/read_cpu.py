"""bench/events: CPU the flusher's reading thread spends per 1,000 stream entries.

    .venv/bin/python -m bench.events.read_cpu [--events 100000] [--rounds 3]

XADDs the bench's generated events (those of bench.events.flush_drain) to their partitions,
then reads every partition through `EventStream.read` in batches of 2,000 and makes each batch
ready to write (`prepare_batch`), as the flusher's reading thread does, timing both with
`time.process_time` (this process's CPU only, so other load on the machine moves it less than
wall-clock figures). A second flusher process competes for exactly this CPU, so it bounds how
much two flushers gain over one (docs/PERFORMANCE.md). Prints medians over the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.events.flush_drain import fill_partitions, generate
from bench.harness import bench_environment, bench_redis, empty_redis
from service.jobs.flush_batch import prepare_batch
from service.settings import Settings
from service.store.redis.client import connect
from service.store.redis.event_stream import GROUP, EventStream
from service.store.redis.keys import Keys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    settings = Settings.from_env(bench_environment(8193))
    keys = Keys(settings.redis_prefix, settings.event_partitions)
    filler = bench_redis(settings.redis_url or "")
    empty_redis(filler)
    fill_partitions(filler, keys, generate(args.events, 50_000))
    client = connect(settings)
    streams = [EventStream(client, keys, p) for p in range(keys.partitions)]
    reads: list[float] = []
    prepares: list[float] = []
    try:
        for _ in range(args.rounds):
            for stream in streams:  # a new group: every entry is delivered again
                client.xgroup_destroy(stream.name, GROUP)
                stream.ensure_group()
            read = prepare = 0.0
            entries = 0
            for stream in streams:
                while True:
                    began = time.process_time()
                    batch = stream.read("bench", 2000)
                    read_done = time.process_time()
                    if not batch.ids:
                        break
                    prepare_batch(stream, batch)
                    prepare += time.process_time() - read_done
                    read += read_done - began
                    entries += len(batch.ids)
            reads.append(read / entries * 1e6)
            prepares.append(prepare / entries * 1e6)
            print(f"round: read and parse {reads[-1]:.1f}, prepare {prepares[-1]:.1f} ms / 1k")
    finally:
        empty_redis(filler)
    print(
        f"{args.events} entries, batches of 2000, medians over {args.rounds} rounds: read and "
        f"parse {statistics.median(reads):.1f} ms, prepare {statistics.median(prepares):.1f} ms "
        "of CPU per 1,000 entries"
    )


if __name__ == "__main__":
    main()

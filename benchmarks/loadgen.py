"""A lean HTTP/1.1 load generator (raw asyncio sockets, keep-alive), run as its own
process so the client does not share the server's interpreter. Prints one JSON line:
{"requests", "seconds", "fps", "p50_ms", "p99_ms", "statuses"}.

By default each connection sends as fast as it is answered (closed loop: throughput).
With ``--rate R`` requests are due at a fixed total rate (open loop: latency at a given
load); a request's latency then counts from when it was due, so a server stall is not
hidden by the requests it delayed."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from collections import Counter
from pathlib import Path


async def _worker(
    host: str,
    port: int,
    path: str,
    headers: str,
    body: bytes,
    seqs: itertools.count[int],
    deadline: float,
    latencies: list[float],
    statuses: Counter[int],
    schedule: tuple[float, float, int] | None = None,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            seq = next(seqs)
            due = None
            if schedule is not None:  # (start, rate, first seq): request n is due at n/rate
                start, rate, first = schedule
                due = start + (seq - first) / rate
                if due >= deadline:
                    break
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            request = (
                f"POST {path}{'&' if '?' in path else '?'}seq={seq} HTTP/1.1\r\n"
                f"Host: {host}\r\n{headers}Content-Type: image/jpeg\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - (started if due is None else due))
            statuses[int(head.split(b" ")[1])] += 1
    finally:
        writer.close()


async def run(
    url: str,
    token: str | None,
    body: bytes,
    concurrency: int,
    seconds: float,
    first_seq: int,
    rate: float = 0.0,
) -> tuple[dict[str, object], list[float]]:
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    headers = f"X-API-Key: {token}\r\n" if token else ""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    seqs = itertools.count(first_seq)
    started = time.perf_counter()
    deadline = started + seconds
    schedule = (started, rate, first_seq) if rate > 0 else None
    await asyncio.gather(
        *(
            _worker(
                host,
                int(port),
                "/" + path,
                headers,
                body,
                seqs,
                deadline,
                latencies,
                statuses,
                schedule,
            )
            for _ in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    summary = {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "fps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "statuses": dict(statuses),
    }
    return summary, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--token")
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--first-seq", type=int, default=0)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="total requests/s (0: as fast as answered)"
    )
    parser.add_argument(
        "--latencies", type=Path, help="also write every latency (seconds, JSON list) here"
    )
    args = parser.parse_args()
    result, latencies = asyncio.run(
        run(
            args.url,
            args.token,
            args.body.read_bytes(),
            args.concurrency,
            args.seconds,
            args.first_seq,
            args.rate,
        )
    )
    if args.latencies is not None:
        args.latencies.write_text(json.dumps(latencies))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""A lean HTTP/1.1 load generator (raw asyncio sockets, keep-alive), run as its own
process so the client does not share the server's interpreter. Prints one JSON line:
{"requests", "seconds", "fps", "p50_ms", "p99_ms", "statuses"}."""

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
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            seq = next(seqs)
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
            latencies.append(time.perf_counter() - started)
            statuses[int(head.split(b" ")[1])] += 1
    finally:
        writer.close()


async def run(
    url: str, token: str | None, body: bytes, concurrency: int, seconds: float, first_seq: int
) -> dict[str, object]:
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    headers = f"X-API-Key: {token}\r\n" if token else ""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    seqs = itertools.count(first_seq)
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(
            _worker(host, int(port), "/" + path, headers, body, seqs, deadline, latencies, statuses)
            for _ in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "fps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "statuses": dict(statuses),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--token")
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--first-seq", type=int, default=0)
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.url,
            args.token,
            args.body.read_bytes(),
            args.concurrency,
            args.seconds,
            args.first_seq,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

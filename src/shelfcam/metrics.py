"""Prometheus metrics of one process: counters and histograms in a registry of its own.

/metrics renders these; they hold counts and timings per device, never a token, an image
or an event's contents.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["PROMETHEUS_CONTENT_TYPE", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.frames = Counter(
            "shelfcam_ingest_frames",
            "Frames accepted by ingest (new, not retries)",
            ["device"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "shelfcam_ingest_duplicates",
            "Retried frames recognised as already received",
            ["device"],
            registry=self.registry,
        )
        self.bytes = Counter(
            "shelfcam_ingest_bytes",
            "JPEG bytes accepted by ingest",
            ["device"],
            registry=self.registry,
        )
        self.errors = Counter(
            "shelfcam_ingest_errors",
            "Uploads refused, by reason",
            ["device", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "shelfcam_ingest_seconds",
            "Ingest request handling time",
            ["device"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.frames_analyzed = Counter(
            "shelfcam_frames_analyzed",
            "Frames analyzed by the worker, by outcome",
            ["device", "status"],
            registry=self.registry,
        )
        self.events = Counter(
            "shelfcam_events",
            "Events emitted, by type",
            ["device", "event_type"],
            registry=self.registry,
        )

        self.connections_open = Gauge(
            "shelfcam_http_connections_open",
            "HTTP connections open now",
            registry=self.registry,
        )
        self.connections_refused = Counter(
            "shelfcam_http_connections_refused",
            "Connections answered 503 and closed at once: over SHELFCAM_MAX_CONNECTIONS, or "
            "over SHELFCAM_MAX_CONNECTIONS_PER_ADDRESS from one address",
            ["reason"],
            registry=self.registry,
        )
        self.request_timeouts = Counter(
            "shelfcam_http_request_timeouts",
            "Requests closed with 408 because their headers or body took too long",
            ["phase"],
            registry=self.registry,
        )

        # Outputs (docs/integrations.md): counted by the process that delivers them.
        self.output_deliveries = Counter(
            "shelfcam_output_deliveries",
            "Deliveries an output's receiver took",
            ["output"],
            registry=self.registry,
        )
        self.output_failures = Counter(
            "shelfcam_output_failures",
            "Delivery attempts that failed and will be tried again",
            ["output"],
            registry=self.registry,
        )
        self.output_dropped = Counter(
            "shelfcam_output_dropped",
            "Deliveries given up: refused by the receiver, too old, over the backlog bound, "
            "or whose event is gone",
            ["output", "reason"],
            registry=self.registry,
        )
        self.output_backlog = Gauge(
            "shelfcam_output_backlog",
            "Deliveries waiting, as the delivering process last counted",
            ["output"],
            registry=self.registry,
        )
        self.output_connected = Gauge(
            "shelfcam_output_connected",
            "1 while the output's connection is up (MQTT)",
            ["output"],
            registry=self.registry,
        )

        # Pulled cameras (docs/cameras.md): counted by the process that pulls them.
        self.pull_connected = Gauge(
            "shelfcam_pull_connected",
            "1 while the pulled camera answers with frames, 0 while it fails",
            ["device"],
            registry=self.registry,
        )
        self.pull_frames_per_minute = Gauge(
            "shelfcam_pull_frames_per_minute",
            "Frames taken from the pulled camera in the last minute",
            ["device"],
            registry=self.registry,
        )
        self.pull_dropped = Counter(
            "shelfcam_pull_frames_dropped",
            "Stream frames left out because the next frame was not due yet",
            ["device"],
            registry=self.registry,
        )
        self.pull_failures = Counter(
            "shelfcam_pull_failures",
            "Failed pulls (connection, timeout, HTTP status, not a JPEG), by reason",
            ["device", "reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))

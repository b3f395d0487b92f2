"""What a retention run did (or, dry, would do): counts and bytes per class.

One shape for the log line (``action=retention_done ...``), the JSON object of
``shelfcam retention run --json`` and the readable text; docs/retention.md shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Scope = Literal["full", "sweep"]
"""'full': everything (nightly, the CLI). 'sweep': staging and debug frames and their
orphans only (every few minutes)."""


@dataclass
class Tally:
    captures: int = 0
    """Rows re-classed (to 'discarded', or 'event' for a frame with a live event copy)."""
    files: int = 0
    bytes: int = 0
    """Space freed: a file with other hard links frees nothing."""

    def add(self, files: int, freed: int) -> None:
        self.files += files
        self.bytes += freed


@dataclass
class Summary:
    now: datetime
    dry_run: bool
    scope: Scope
    events: int = 0
    """Events whose frames expired."""
    images: int = 0
    """event_images rows marked expired."""
    event: Tally = field(default_factory=Tally)
    staging: Tally = field(default_factory=Tally)
    debug: Tally = field(default_factory=Tally)
    orphan: Tally = field(default_factory=Tally)
    folders: int = 0
    purged: int = 0
    jobs: int = 0
    """Analysis jobs that ended without success, removed once their frame is past the
    staging retention (nightly runs only)."""
    foreign: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def files(self) -> int:
        return self.event.files + self.staging.files + self.debug.files + self.orphan.files

    @property
    def bytes(self) -> int:
        return self.event.bytes + self.staging.bytes + self.debug.bytes + self.orphan.bytes

    def as_json(self) -> dict[str, Any]:
        def tally(t: Tally, with_captures: bool = True) -> dict[str, int]:
            out = {"captures": t.captures} if with_captures else {}
            return {**out, "files": t.files, "bytes": t.bytes}

        return {
            "dry_run": self.dry_run,
            "scope": self.scope,
            "now": self.now.isoformat(),
            "seconds": round(self.seconds, 3),
            "event": {"events": self.events, "images": self.images, **tally(self.event)},
            "staging": tally(self.staging),
            "debug": tally(self.debug),
            "orphan": tally(self.orphan, with_captures=False),
            "folders": {"removed": self.folders},
            "captures": {"purged": self.purged},
            "jobs": {"removed": self.jobs},
            "total": {"files": self.files, "bytes": self.bytes},
            "foreign_files": self.foreign,
            "errors": self.errors,
        }

    def log_fields(self) -> str:
        """``key=value`` pairs for the log line."""
        pairs = {
            "dry_run": str(self.dry_run).lower(),
            "scope": self.scope,
            "events": self.events,
            "event_files": self.event.files,
            "event_bytes": self.event.bytes,
            "staging_files": self.staging.files,
            "staging_bytes": self.staging.bytes,
            "debug_files": self.debug.files,
            "debug_bytes": self.debug.bytes,
            "orphan_files": self.orphan.files,
            "orphan_bytes": self.orphan.bytes,
            "folders": self.folders,
            "captures_purged": self.purged,
            "jobs_removed": self.jobs,
            "errors": self.errors,
            "seconds": f"{self.seconds:.3f}",
        }
        return " ".join(f"{k}={v}" for k, v in pairs.items())

    def text(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        lines = [
            f"retention {'dry run' if self.dry_run else 'run'} at {self.now.isoformat()} "
            f"({self.scope}, {self.seconds:.1f} s):",
            f"  event frames:    {verb} {self.event.files} files ({_size(self.event.bytes)}) "
            f"of {self.events} events; {self.images} images expired",
            f"  staging frames:  {verb} {self.staging.files} files ({_size(self.staging.bytes)})",
            f"  debug snapshots: {verb} {self.debug.files} files ({_size(self.debug.bytes)})",
            f"  orphan files:    {verb} {self.orphan.files} files ({_size(self.orphan.bytes)})",
            f"  empty folders:   {self.folders}",
            f"  captures rows:   {self.purged} purged",
            f"  failed jobs:     {self.jobs} removed",
            f"  total:           {self.files} files, {_size(self.bytes)}",
        ]
        if self.foreign:
            lines.append(f"  left alone:      {self.foreign} files that are not shelfcam's")
        if self.errors:
            lines.append(f"  errors:          {self.errors} (see the log)")
        return "\n".join(lines)


@dataclass
class GuardReport:
    """What one disk-guard pass did."""

    floor_bytes: int
    free_before: int
    free_after: int
    batches: int = 0
    events: int = 0
    files: int = 0
    bytes: int = 0
    exhausted: bool = False
    """Below the floor with no event frame left to delete."""

    def as_json(self) -> dict[str, Any]:
        return {
            "floor_bytes": self.floor_bytes,
            "free_before": self.free_before,
            "free_after": self.free_after,
            "batches": self.batches,
            "events": self.events,
            "files": self.files,
            "bytes": self.bytes,
            "exhausted": self.exhausted,
        }


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns

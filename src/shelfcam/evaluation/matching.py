"""Scoring found events against expected ones: precision, recall and timing errors. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from shelfcam.vocabulary import EVENT_TYPES

TOLERANCE_S = 3.0
"""How far a found event's start may be from the labelled start and still match."""


@dataclass(frozen=True)
class Expected:
    event_type: str
    start_s: float
    end_s: float | None


@dataclass(frozen=True)
class Found:
    event_type: str
    start_s: float
    end_s: float | None


@dataclass(frozen=True)
class Match:
    expected: Expected
    found: Found

    @property
    def start_error_s(self) -> float:
        return self.found.start_s - self.expected.start_s

    @property
    def end_error_s(self) -> float | None:
        if self.expected.end_s is None or self.found.end_s is None:
            return None
        return self.found.end_s - self.expected.end_s


@dataclass
class ScenarioResult:
    name: str
    matches: list[Match] = field(default_factory=list)
    missed: list[Expected] = field(default_factory=list)
    unexpected: list[Found] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.missed and not self.unexpected

    def why(self) -> str:
        parts = [f"missed {e.event_type} at {e.start_s:.1f}s" for e in self.missed]
        parts += [f"unexpected {f.event_type} at {f.start_s:.1f}s" for f in self.unexpected]
        return "; ".join(parts)


def match(
    name: str,
    expected: Iterable[Expected],
    found: Iterable[Found],
    tolerance_s: float = TOLERANCE_S,
) -> ScenarioResult:
    """Pair each expected event with the nearest unpaired found event of its type."""
    result = ScenarioResult(name)
    pool = sorted(found, key=lambda f: f.start_s)
    for want in sorted(expected, key=lambda e: e.start_s):
        candidates = [
            f
            for f in pool
            if f.event_type == want.event_type and abs(f.start_s - want.start_s) <= tolerance_s
        ]
        if not candidates:
            result.missed.append(want)
            continue
        best = min(candidates, key=lambda f: abs(f.start_s - want.start_s))
        pool.remove(best)
        result.matches.append(Match(want, best))
    result.unexpected = pool
    return result


@dataclass(frozen=True)
class TypeScore:
    event_type: str
    expected: int
    found: int
    true_positives: int
    start_errors_s: tuple[float, ...]
    end_errors_s: tuple[float, ...]

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.found if self.found else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.expected if self.expected else None


def score(results: Iterable[ScenarioResult]) -> list[TypeScore]:
    """Precision and recall per event type over all scenarios."""
    results = list(results)
    table = []
    for kind in EVENT_TYPES:
        matches = [m for r in results for m in r.matches if m.expected.event_type == kind]
        missed = sum(1 for r in results for e in r.missed if e.event_type == kind)
        extra = sum(1 for r in results for f in r.unexpected if f.event_type == kind)
        table.append(
            TypeScore(
                event_type=kind,
                expected=len(matches) + missed,
                found=len(matches) + extra,
                true_positives=len(matches),
                start_errors_s=tuple(m.start_error_s for m in matches),
                end_errors_s=tuple(e for m in matches if (e := m.end_error_s) is not None),
            )
        )
    return table

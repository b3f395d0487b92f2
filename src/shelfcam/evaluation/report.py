"""The evaluation report: a table per event type, timing errors, and what went wrong."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from shelfcam.evaluation.matching import TypeScore, score
from shelfcam.evaluation.runner import Evaluated

TARGET = 0.95


def _ratio(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


def _errors(values: tuple[float, ...]) -> str:
    if not values:
        return "      -      "
    absolute = [abs(v) for v in values]
    return f"{statistics.median(absolute):5.2f} / {max(absolute):5.2f}"


def table(scores: Iterable[TypeScore]) -> list[str]:
    lines = [
        f"{'event type':<22} {'expected':>8} {'found':>6} {'right':>6} {'precision':>9} "
        f"{'recall':>6}  {'start err s (median/max)':>24}  {'end err s':>13}",
    ]
    for s in scores:
        lines.append(
            f"{s.event_type:<22} {s.expected:>8} {s.found:>6} {s.true_positives:>6} "
            f"{_ratio(s.precision):>9} {_ratio(s.recall):>6}  {_errors(s.start_errors_s):>24}  "
            f"{_errors(s.end_errors_s):>13}"
        )
    return lines


def render(suite: str, evaluated: list[Evaluated]) -> tuple[list[str], bool]:
    """The report's lines, and whether every target was met."""
    exact = [e for e in evaluated if e.case.exact]
    lines = [f"suite {suite}: {len(evaluated)} scenarios"]
    met = True
    if exact:
        scores = score(e.result for e in exact)
        lines += table(scores)
        for s in scores:
            for name, value in (("precision", s.precision), ("recall", s.recall)):
                if value is not None and value < TARGET:
                    met = False
                    lines.append(f"  below target: {s.event_type} {name} {value:.2f} < {TARGET}")
    failed = [e for e in evaluated if not e.result.ok or e.rule_failures]
    lighting = [e for e in evaluated if e.case.lighting_only]
    if lighting:
        wrong = sum(1 for e in lighting if e.rule_failures)
        lines.append(f"lighting-only scenarios: {len(lighting)}, with a stock_changed: {wrong}")
    if not exact:
        for e in evaluated:
            kinds = sorted({f.event_type for f in e.found})
            lines.append(f"  {e.case.name:<22} events: {', '.join(kinds) or 'none'}")
    if failed:
        met = False
        lines.append(f"scenarios with differences: {len(failed)}")
        for e in failed:
            why = "; ".join(filter(None, [e.result.why(), *e.rule_failures]))
            lines.append(f"  {e.case.name:<28} {why}")
    else:
        lines.append("every scenario gave exactly the expected events")
    return lines, met

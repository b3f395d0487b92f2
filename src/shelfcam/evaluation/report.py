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


def render_real(evaluated: list[Evaluated]) -> tuple[list[str], bool]:
    """Per case what the acceptance check prints (PASS or FAIL, the events by type, why),
    and its summary line: ``realdata: P/N cases pass; ...``."""
    lines, passed = [], 0
    expected = found = false_stock = false_shift = 0
    for e in evaluated:
        ok = e.verdict is not None and e.verdict.ok
        counts: dict[str, int] = {}
        for f in e.found:
            counts[f.event_type] = counts.get(f.event_type, 0) + 1
        why = "; ".join(e.verdict.why) if e.verdict else "no expectations"
        lines.append(f"{'PASS' if ok else 'FAIL'} {e.case.name}: {counts} {why}".rstrip())
        passed += ok
        for x in e.case.expectations:
            if x.event_type == "stock_changed" and x.at_least > 0:
                expected += 1
                found += int(counts.get("stock_changed", 0) > 0)
            if x.at_most == 0 and x.event_type == "stock_changed":
                false_stock += counts.get("stock_changed", 0)
            if x.at_most == 0 and x.event_type == "scene_shifted":
                false_shift += counts.get("scene_shifted", 0)
    lines.append(
        f"realdata: {passed}/{len(evaluated)} cases pass; stock_changed found in "
        f"{found}/{expected} change cases; false stock_changed {false_stock}; "
        f"false scene_shifted {false_shift}"
    )
    return lines, passed == len(evaluated)


def render(suite: str, evaluated: list[Evaluated]) -> tuple[list[str], bool]:
    """The report's lines, and whether every target was met."""
    if evaluated and all(e.case.expectations for e in evaluated):
        return render_real(evaluated)
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

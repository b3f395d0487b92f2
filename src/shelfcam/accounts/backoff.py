"""Failed-login backoff: how long a user or an address waits after repeated failures.

Pure: a failure count and a policy in, a delay out. The first ``free_attempts`` failures
cost nothing (people mistype); each failure after that doubles the wait, up to
``max_delay_s``. A good login forgets the failures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    free_attempts: int
    max_delay_s: float
    base_delay_s: float = 1.0


def delay_after(failures: int, policy: BackoffPolicy) -> float:
    """Seconds to refuse every attempt after the ``failures``-th failure in a row."""
    over = failures - policy.free_attempts
    if over < 0:
        return 0.0
    # 2**over grows fast; cap the exponent before it overflows a float.
    return min(policy.max_delay_s, policy.base_delay_s * 2.0 ** min(over, 60))

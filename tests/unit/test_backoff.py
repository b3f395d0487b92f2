from __future__ import annotations

import pytest

from shelfcam.accounts.backoff import BackoffPolicy, delay_after

POLICY = BackoffPolicy(free_attempts=3, max_delay_s=60.0)


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0.0), (1, 0.0), (2, 0.0), (3, 1.0), (4, 2.0), (5, 4.0), (8, 32.0), (9, 60.0), (500, 60.0)],
)
def test_delay_doubles_after_the_free_attempts_up_to_the_cap(failures: int, delay: float) -> None:
    assert delay_after(failures, POLICY) == delay

"""A long-running process freezes its start-up heap (shelfcam.runtime.settle_heap)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shelfcam.runtime import settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: tracked by the collector


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_objects_alive_at_start_up_leave_the_collectors_view() -> None:
    long_lived = _Node()
    assert any(obj is long_lived for obj in gc.get_objects())
    frozen = settle_heap()
    assert frozen == gc.get_freeze_count() > 0
    assert not any(obj is long_lived for obj in gc.get_objects())
    young = _Node()  # made after start-up: still collected as usual
    assert any(obj is young for obj in gc.get_objects())


@pytest.mark.usefixtures("unfrozen")
def test_garbage_left_by_start_up_is_collected_not_frozen() -> None:
    garbage = _Node()
    collected_before = gc.get_stats()[2]["collected"]
    del garbage
    settle_heap()
    assert gc.get_stats()[2]["collected"] > collected_before

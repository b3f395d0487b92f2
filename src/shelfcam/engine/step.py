"""``step``: one frame's scores in, the device's next state and decisions out.

Pure: no clock (the frame's engine time comes in), no files, no database. Replaying the
same frames gives the same events, byte for byte. Health (engine/health.py) is judged
first; a covered camera suspends everything else. Then the activity handler of the current
mode runs (engine/activity.py).
"""

from __future__ import annotations

from collections.abc import Callable

from shelfcam.engine import activity, health
from shelfcam.engine.builder import Builder, Observation, Step
from shelfcam.engine.config import EngineConfig
from shelfcam.engine.state import EngineState, Mode

_HANDLERS: dict[Mode, Callable[[Builder], None]] = {
    "rebasing": activity.rebasing,
    "shifted": activity.rebasing,
    "obstructed": activity.rebasing,
    "idle": activity.idle,
    "interaction": activity.interaction,
    "settling": activity.settling,
}


def step(state: EngineState, obs: Observation, config: EngineConfig) -> Step:
    """Advance one device's engine by one frame."""
    b = Builder(state, obs, config)
    _track_stability(b)
    if not health.obstruction(b):
        health.shift(b)
        _HANDLERS[b.state.mode](b)
    return _finish(b)


def _track_stability(b: Builder) -> None:
    st = b.state
    if b.obs.scores.frame_change < b.th.stable_frame_change:
        b.state = st.evolve(stable_run=st.stable_run + 1, stable_since=st.stable_since or b.here)
    else:
        b.state = st.evolve(stable_run=0, stable_since=None)


def _finish(b: Builder) -> Step:
    ep = b.state.episode
    burst = b.state.mode == "interaction" or (
        ep is not None
        and ep.last_motion_at is not None
        and (b.t - ep.last_motion_at).total_seconds() < b.th.burst_hold_seconds
    )
    b.state = b.state.evolve(last_t=b.t, prev_capture_id=b.obs.capture_id, burst=burst)
    return b.result()

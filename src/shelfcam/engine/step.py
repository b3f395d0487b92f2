"""``step``: one frame's scores in, the device's next state and decisions out.

Pure: no clock (the frame's engine time comes in), no files, no database. Replaying the
same frames gives the same events, byte for byte. Health (engine/health.py) is judged
first; a covered camera suspends everything else, a dark one all but interactions. Then
the light, the interactions (engine/interactions.py) and the stock (engine/stock.py) are
judged, each on its own: an
interaction is recorded whatever the stock judgement, and a change is judged in its own
place whatever moves elsewhere.
"""

from __future__ import annotations

from shelfcam.engine import health, interactions, stock
from shelfcam.engine.builder import Builder, Observation, Step
from shelfcam.engine.config import EngineConfig
from shelfcam.engine.state import EngineState

QUIET_MOTION = 0.05
"""Below this share of the inventory ROI moving, a busy view is quiet enough for a first
baseline (the moving places become its holes)."""


def step(state: EngineState, obs: Observation, config: EngineConfig) -> Step:
    """Advance one device's engine by one frame."""
    b = Builder(state, obs, config)
    _track_stability(b)
    view = health.obstruction(b)
    if view == "covered":
        return _finish(b)
    if view == "clear":
        health.shift(b)
    _track_light(b)
    interactions.track(b)
    if view == "clear":
        stock.track(b)
    return _finish(b)


def _track_stability(b: Builder) -> None:
    st, s, th = b.state, b.obs.scores, b.th
    if s.frame_change < th.stable_frame_change:
        st = st.evolve(stable_run=st.stable_run + 1, stable_since=st.stable_since or b.here)
    else:
        st = st.evolve(stable_run=0, stable_since=None)
    # frame_change is 1.0 only when there was no previous frame to compare with.
    compared = s.frame_change < 1.0
    still = s.inventory_motion < th.stable_frame_change and compared
    quiet = s.inventory_motion < QUIET_MOTION and compared
    b.state = st.evolve(
        calm_run=st.calm_run + 1 if still else 0,
        calm_since=(st.calm_since or b.t) if still else None,
        quiet_run=st.quiet_run + 1 if quiet else 0,
    )


def _track_light(b: Builder) -> None:
    """A light switched on or off (or a big exposure jump): remembered until the next
    baseline, so that what it changes is never taken for stock."""
    if not b.switching_light():
        return
    since = b.state.lighting_since
    if since is None:
        b.trace.append("lighting_change_ignored")
    # A light switched right now starts the settling time afresh.
    since = b.t if since is None or b.light_jump() else since
    b.state = b.state.evolve(lighting_since=since, reference_stale=True)


def _finish(b: Builder) -> Step:
    st = b.state
    it = st.interaction
    burst = it is not None and (b.t - it.last_motion_at).total_seconds() < b.th.burst_hold_seconds
    b.state = st.evolve(last_t=b.t, prev_capture_id=b.obs.capture_id, burst=burst)
    return b.result()

"""Pure per-device rule engine: scores in, state, events and directives out.

``step(state, Observation(capture_id, t, scores), config) -> Step`` (see step.py).
"""

from shelfcam.engine.builder import Observation, Step
from shelfcam.engine.config import EngineConfig, Thresholds
from shelfcam.engine.decisions import EventEnd, NewEvent
from shelfcam.engine.state import EngineState, Interaction, Mark, Watch
from shelfcam.engine.step import step

__all__ = [
    "EngineConfig",
    "EngineState",
    "EventEnd",
    "Interaction",
    "Mark",
    "NewEvent",
    "Observation",
    "Step",
    "Thresholds",
    "Watch",
    "step",
]

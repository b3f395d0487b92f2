"""``shelfcam outputs test``: a test message to every configured output, and what each
answered."""

from __future__ import annotations

from dataclasses import dataclass

from shelfcam.config import Settings
from shelfcam.outputs import setup
from shelfcam.outputs.catalog import redact
from shelfcam.outputs.output import DeliveryFailed, DeliveryRefused


@dataclass(frozen=True)
class Answer:
    name: str
    label: str
    ok: bool
    said: str


async def send_test_messages(settings: Settings) -> list[Answer]:
    """Send each output a test message, one after the other; never raises for an output."""
    answers = []
    for output in setup.build(settings, pool=None):
        spec = output.spec
        try:
            said, ok = await output.check(), True
        except (DeliveryFailed, DeliveryRefused) as err:
            said, ok = str(err), False
        except Exception as err:  # a library's surprise is an answer too
            said, ok = redact(f"{type(err).__name__}: {err}", [spec.url]), False
        finally:
            await output.aclose()
        answers.append(Answer(spec.name, spec.label, ok, said))
    return answers

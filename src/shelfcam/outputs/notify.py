"""Notifications through Apprise: one output per URL (ntfy, Telegram, e-mail, a JSON
endpoint, ...), so a service that is down delays only its own.

A notification has a title and a body a person understands (``Fridge: stock changed at
14:02``, the changed places, a link to the event's page at SHELFCAM_PUBLIC_URL) and the
event's frame attached where the service takes attachments. Apprise does not say why a
service failed other than in its log, so the failure shown is its last warning, with
anything of the URL that might be secret masked.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

import anyio.to_thread
import apprise
from apprise.attachment.memory import AttachMemory

from shelfcam.outputs import messages
from shelfcam.outputs.catalog import OutputSpec, redact
from shelfcam.outputs.output import DeliveryFailed, Outgoing

TIMEOUT_S = 30.0


class NotifyOutput:
    wants_frame = True

    def __init__(self, spec: OutputSpec, public_url: str, zone: tzinfo) -> None:
        self.spec = spec
        self.public_url = public_url
        self.zone = zone

    async def run(self) -> None:
        return None

    def _send(self, title: str, body: str, frame: bytes | None, name: str) -> None:
        sender = apprise.Apprise()
        if not sender.add(self.spec.url):
            raise DeliveryFailed("Apprise does not understand this URL")
        attach = (
            None
            if frame is None
            else AttachMemory(  # type: ignore[no-untyped-call]  # apprise leaves it unannotated
                content=frame, name=f"{name}.jpg", mimetype="image/jpeg"
            )
        )
        result = sender.notify(body=body, title=title, attach=attach, timeout=TIMEOUT_S)
        if not result:
            said = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
            why = said[-1] if said else f"the service did not take it ({result.status.name})"
            raise DeliveryFailed(redact(why, [self.spec.url]))

    async def deliver(self, item: Outgoing) -> None:
        link = messages.event_link(self.public_url, str(item.event_id))
        note = messages.notification(item.event, item.kind, self.zone, link)
        await anyio.to_thread.run_sync(
            self._send, note.title, note.body, item.frame, str(item.event_id)
        )

    async def check(self) -> str:
        now = datetime.now(UTC).astimezone(self.zone)
        body = f"shelfcam can reach this service ({now:%H:%M:%S}). Events will arrive here."
        await anyio.to_thread.run_sync(
            self._send, "shelfcam: test notification", body, None, "test"
        )
        return "delivered"

    async def aclose(self) -> None:
        return None

"""Webhooks: a signed POST of each event's JSON to a URL.

Headers: ``Content-Type: application/json``, ``X-Shelfcam-Event-Id`` (the key a receiver
deduplicates on, with the body's ``type``) and ``X-Shelfcam-Signature-256:
sha256=<hex HMAC-SHA256 of the body keyed with SHELFCAM_WEBHOOK_SECRET>``. A 2xx answer
delivers it; 408, 429, 5xx and no answer are tried again later; any other answer (4xx,
a redirect, which is not followed) drops it, logged. User and password in the URL are
sent as HTTP basic authentication and never shown.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from shelfcam import __version__
from shelfcam.outputs import messages
from shelfcam.outputs.catalog import OutputSpec, redact
from shelfcam.outputs.output import DeliveryFailed, DeliveryRefused, Outgoing

TIMEOUT_S = 10.0
RETRIED = frozenset({408, 429})


class WebhookOutput:
    wants_frame = False

    def __init__(self, spec: OutputSpec, secret: str) -> None:
        self.spec = spec
        self._secret = secret
        self._client = httpx.AsyncClient(
            timeout=TIMEOUT_S,
            follow_redirects=False,
            headers={"User-Agent": f"shelfcam/{__version__}"},
        )

    async def run(self) -> None:
        return None

    async def _post(self, message: dict[str, Any], event_id: str) -> httpx.Response:
        body = messages.encode(message)
        headers = {
            "Content-Type": "application/json",
            messages.EVENT_ID_HEADER: event_id,
            messages.SIGNATURE_HEADER: messages.signature(self._secret, body),
        }
        try:
            return await self._client.post(self.spec.url, content=body, headers=headers)
        except httpx.HTTPError as err:
            why = redact(f"{type(err).__name__}: {err}", [self.spec.url])
            raise DeliveryFailed(f"no answer ({why})") from err

    async def deliver(self, item: Outgoing) -> None:
        message = messages.event_message(item.event, item.kind)
        answer = await self._post(message, str(item.event_id))
        _judge(answer)

    async def check(self) -> str:
        message = {
            "type": "test",
            "event_id": str(uuid.uuid4()),
            "sent_at": datetime.now(UTC).isoformat(),
            "message": "shelfcam outputs test: the webhook works",
        }
        answer = await self._post(message, message["event_id"])
        _judge(answer)
        return f"answered {answer.status_code} {answer.reason_phrase}".strip()

    async def aclose(self) -> None:
        await self._client.aclose()


def _judge(answer: httpx.Response) -> None:
    status = answer.status_code
    said = f"answered {status} {answer.reason_phrase}".strip()
    if 200 <= status < 300:
        return
    if status in RETRIED or status >= 500:
        raise DeliveryFailed(said)
    raise DeliveryRefused(said)

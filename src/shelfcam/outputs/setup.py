"""The outputs the settings configure, built for the process that delivers them (and for
``shelfcam outputs test``)."""

from __future__ import annotations

import socket
from datetime import datetime, tzinfo

from shelfcam.config import Settings
from shelfcam.db.types import Pool
from shelfcam.outputs.catalog import OutputSpec, specs
from shelfcam.outputs.mqtt import MqttOutput, StateSink
from shelfcam.outputs.notify import NotifyOutput
from shelfcam.outputs.output import Output
from shelfcam.outputs.webhook import WebhookOutput

ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - compared with, not bound


def configured(settings: Settings) -> tuple[OutputSpec, ...]:
    """Every output the settings turn on (none by default)."""
    return specs(
        mqtt_url=settings.mqtt_url,
        webhook_urls=settings.webhook_url_list,
        notify_urls=settings.notify_url_list,
        notify_event_types=settings.notify_event_type_list,
    )


def public_url(settings: Settings) -> str:
    """Where people open the UI: SHELFCAM_PUBLIC_URL, else this machine's address."""
    if settings.public_url:
        return settings.public_url
    host = socket.gethostname() if settings.host in ANY_ADDRESS else settings.host
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{settings.port}"


def local_zone() -> tzinfo:
    """The machine's time zone, for the times a notification shows."""
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None  # astimezone() always gives an aware time
    return zone


def build(
    settings: Settings, pool: Pool | None, on_mqtt_state: StateSink | None = None
) -> list[Output]:
    """One output per configured spec."""
    built: list[Output] = []
    for spec in configured(settings):
        if spec.kind == "mqtt":
            built.append(
                MqttOutput(
                    spec,
                    prefix=settings.mqtt_prefix,
                    discovery_prefix=settings.ha_discovery_prefix,
                    public_url=public_url(settings),
                    pool=pool,
                    on_state=on_mqtt_state,
                )
            )
        elif spec.kind == "webhook":
            assert settings.webhook_secret is not None  # the settings require it
            built.append(WebhookOutput(spec, settings.webhook_secret))
        else:
            built.append(NotifyOutput(spec, public_url(settings), local_zone()))
    return built

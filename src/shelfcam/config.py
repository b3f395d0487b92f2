"""Settings: environment variables ``SHELFCAM_*`` and an optional TOML file.

Precedence, highest first: explicit arguments, environment, the TOML file, defaults.
The TOML file is named by ``--config`` or ``SHELFCAM_CONFIG``; its keys are the field
names below (``data_dir = "/var/lib/shelfcam"``). Every field carries a description and
bounds; docs/configuration.md lists them all (a test keeps the two in step).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from shelfcam.errors import ConfigError, InvalidInput
from shelfcam.frames.location import parse_frame_store
from shelfcam.vocabulary import EVENT_TYPES, EventType

ENV_PREFIX = "SHELFCAM_"
CONFIG_ENV = "SHELFCAM_CONFIG"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
MIN_FREE_DEFAULT_MB = 200
DISK_GUARD_DEFAULT_MB = 500
MIN_WEBHOOK_SECRET = 16
SECRET_SETTINGS = frozenset(
    {"database_url", "mqtt_url", "notify_urls", "webhook_urls", "webhook_secret"}
)
"""Settings that may hold a password or a token: an error about one never shows its value."""


def split_list(value: str | None) -> list[str]:
    """A comma-separated setting's entries, stripped, empty ones left out."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


class Settings(BaseSettings):
    """Every setting shelfcam reads. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    data_dir: Path = Field(
        default=Path("shelfcam-data"),
        description="Folder for frames (staging/, events/, thumbs/) and the embedded "
        "PostgreSQL (postgres/). Relative paths are taken from the working directory.",
    )
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL connection URL (postgresql://user@host:port/db). Unset: "
        "shelfcam starts an embedded PostgreSQL under <data_dir>/postgres.",
    )
    host: str = Field(
        default="127.0.0.1",
        min_length=1,
        description="Address the HTTP server listens on; 0.0.0.0 to accept cameras on the network.",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="HTTP port.")
    trusted_proxies: str | None = Field(
        default=None,
        max_length=2000,
        description="Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto headers "
        "are believed: comma-separated addresses or networks (127.0.0.1, 10.0.0.0/8), or * "
        "for any. Unset (the default): none, and a client's address is its connection's.",
    )
    header_timeout_seconds: int = Field(
        default=10,
        ge=1,
        le=300,
        description="A request's headers must arrive within this (from the connection, or "
        "from a kept-alive connection's next request); else 408 and the connection closes.",
    )
    body_timeout_seconds: int = Field(
        default=60,
        ge=1,
        le=3600,
        description="A request's body must arrive within this after its headers; else 408 "
        "and the connection closes (nothing of the upload is kept).",
    )
    max_connections: int = Field(
        default=800,
        ge=1,
        le=100_000,
        description="Open HTTP connections at most; one more is answered 503 with "
        "Retry-After and closed. shelfcam raises its open-files limit to fit (the units set "
        "LimitNOFILE=65536); a lower hard limit lowers this.",
    )
    max_connections_per_address: int = Field(
        default=64,
        ge=1,
        le=100_000,
        description="Open HTTP connections from one client address at most (503 beyond). "
        "Behind a reverse proxy every client has the proxy's address: raise it to "
        "SHELFCAM_MAX_CONNECTIONS and let the proxy limit each client.",
    )

    log_level: LogLevel = Field(default="INFO", description="Least severe log level shown.")
    event_retention_days: int = Field(
        default=7,
        ge=1,
        le=3650,
        description="Event frames (pre/post/during, thumbnails, overlays) older than this "
        "are deleted; the events themselves stay.",
    )
    staging_retention_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 7,
        description="Upper bound on how long any staging frame is kept.",
    )
    staging_window_minutes: int = Field(
        default=10,
        ge=1,
        le=24 * 60,
        description="How long a frame counts as fresh: a camera timestamp older than this is "
        "not trusted, a retry without seq within it is a duplicate, and an unreferenced "
        "staging frame older than this is deleted.",
    )
    capture_retention_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="Unset (the default): captures rows are kept forever. Set: retention "
        "deletes captures rows older than this whose frame is gone (class 'discarded'); "
        "event_images rows that pointed at them keep their own file path. Events are "
        "never deleted.",
    )
    retention_hour: int = Field(
        default=3,
        ge=0,
        le=23,
        description="Hour of the day (UTC) of the nightly retention run, started by "
        "`shelfcam serve` and `shelfcam worker`.",
    )
    retention_files_per_second: int = Field(
        default=5000,
        ge=10,
        le=1_000_000,
        description="Most files retention deletes per second, so a big cleanup leaves the "
        "disk to ingest (50,000 files take 10 s at the default).",
    )
    max_frame_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=16 * 1024,
        le=64 * 1024 * 1024,
        description="Largest upload accepted (bytes); bigger bodies get 413 before they are read.",
    )
    rate_limit_fps: float = Field(
        default=50.0,
        gt=0,
        le=10_000,
        description="Sustained frames per second one camera may send before 429.",
    )
    rate_limit_burst: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="Frames a camera may send at once above the sustained rate.",
    )
    min_free_disk_mb: int = Field(
        default=MIN_FREE_DEFAULT_MB,
        ge=0,
        le=10_000_000,
        description="Ingest refuses frames with 507 when the data dir has less free space (MiB).",
    )
    disk_guard_free_mb: int = Field(
        default=DISK_GUARD_DEFAULT_MB,
        ge=0,
        le=10_000_000,
        description="Below this much free space in the data dir (MiB) the disk guard deletes "
        "the oldest event frames until it is back above; it must exceed "
        "SHELFCAM_MIN_FREE_DISK_MB so frames are freed before ingest refuses any (left at "
        "its default below that floor, the guard works to the floor + 300 MiB). 0 turns "
        "the guard off.",
    )
    idle_interval_ms: int = Field(
        default=1000,
        ge=50,
        le=3_600_000,
        description="Interval between frames the camera is told to use when nothing happens.",
    )
    burst_interval_ms: int = Field(
        default=200,
        ge=20,
        le=60_000,
        description="Interval the camera is told to use while an interaction is open.",
    )
    pull_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="A pulled camera (docs/cameras.md) that does not answer, or stops "
        "sending in the middle of a frame, for this long is disconnected and tried again "
        "after a growing wait.",
    )
    worker_concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Frames a worker process analyzes at once (different cameras in "
        "parallel; each camera's frames stay in order).",
    )
    health_max_heartbeat_age_seconds: int = Field(
        default=60,
        ge=15,
        le=3600,
        description="/healthz answers 503 when the analysis worker of this process (`serve`) "
        "has not sent a heartbeat for longer than this (it sends one every 10 s), or is "
        "restarting after a failure for longer than this.",
    )
    health_max_queue_age_seconds: int = Field(
        default=600,
        ge=10,
        le=7 * 24 * 3600,
        description="/healthz answers 503 when a frame has waited for analysis longer than "
        "this (no worker running anywhere, or workers stuck).",
    )
    db_pool_size: int = Field(
        default=10,
        ge=2,
        le=200,
        description="Connections the HTTP server keeps open to PostgreSQL.",
    )
    session_max_age_hours: int = Field(
        default=168,
        ge=1,
        le=24 * 366,
        description="How long an admin login lasts before the admin UI asks for the password "
        "again.",
    )
    login_free_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Failed logins in a row (per user name from one client address, per "
        "address, and per browser that has logged in before) before each further attempt "
        "waits: 1 s, then twice as long after every new failure.",
    )
    login_backoff_max_seconds: int = Field(
        default=900,
        ge=1,
        le=24 * 3600,
        description="Longest wait imposed after repeated failed logins.",
    )
    timeline_poll_seconds: int = Field(
        default=5,
        ge=0,
        le=300,
        description="How often the timeline page asks for new events; 0 turns live updates off.",
    )

    # Outputs (docs/integrations.md): MQTT with Home Assistant discovery, notifications and
    # webhooks. All off until configured.
    mqtt_url: str | None = Field(
        default=None,
        max_length=2000,
        description="MQTT broker to publish events to: mqtt://user:password@host:1883, or "
        "mqtts://... for TLS (port 8883 unless given). Unset: no MQTT.",
    )
    mqtt_prefix: str = Field(
        default="shelfcam",
        min_length=1,
        max_length=100,
        description="First level of every MQTT topic shelfcam publishes (<prefix>/events, "
        "<prefix>/available, ...).",
    )
    ha_discovery_prefix: str = Field(
        default="homeassistant",
        max_length=100,
        description="Home Assistant's MQTT discovery prefix: each camera appears there as a "
        "device. Empty: no discovery.",
    )
    notify_urls: str | None = Field(
        default=None,
        max_length=20000,
        description="Apprise URLs to notify, comma-separated (ntfys://topic, tgram://..., "
        "mailto://..., json://host/path). Unset: no notifications.",
    )
    notify_event_types: str = Field(
        default="stock_changed,empty_confirmed,camera_obstructed,scene_shifted",
        min_length=1,
        max_length=500,
        description="Event types that send a notification, comma-separated.",
    )
    webhook_urls: str | None = Field(
        default=None,
        max_length=20000,
        description="URLs that get a signed POST of every event, comma-separated (http:// or "
        "https://). Unset: no webhooks.",
    )
    webhook_secret: str | None = Field(
        default=None,
        max_length=500,
        description="The key webhooks are signed with (HMAC-SHA256, X-Shelfcam-Signature-256); "
        "at least 16 characters, required with SHELFCAM_WEBHOOK_URLS.",
    )
    public_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Where people open shelfcam's UI (http://pi.local:8000), for links in "
        "notifications and Home Assistant. Unset: http://<host>:<port>, with the machine's "
        "name for a host of 0.0.0.0.",
    )
    output_max_age_hours: int = Field(
        default=48,
        ge=1,
        le=24 * 30,
        description="A delivery an output could not make for this long is dropped (logged, "
        "counted and shown with the output's state).",
    )
    output_max_backlog: int = Field(
        default=50_000,
        ge=100,
        le=10_000_000,
        description="Deliveries waiting per output at most; beyond it the oldest are dropped "
        "(logged, counted and shown with the output's state).",
    )
    frame_store: str = Field(
        default="file",
        max_length=1000,
        description="Where new frames are kept: `file` (under the data dir) or "
        "s3://BUCKET[/PREFIX] (an S3-compatible object store; credentials from the standard "
        "AWS variables or profile). Frames already stored stay readable where they are.",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        max_length=2000,
        description="The S3 server's URL for a store other than AWS (MinIO, SeaweedFS, Ceph, "
        "Garage), e.g. http://127.0.0.1:8333. Unset: AWS's endpoint for the region.",
    )

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (e.g. postgresql://user@host:5432/db)")
        return value

    @field_validator("frame_store")
    @classmethod
    def _check_frame_store(cls, value: str) -> str:
        try:
            parse_frame_store(value)
        except InvalidInput as err:
            raise ValueError(err.detail) from err
        return value.strip()

    @field_validator("s3_endpoint_url")
    @classmethod
    def _check_s3_endpoint(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL, e.g. http://127.0.0.1:8333")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for item in (part.strip() for part in value.split(",")):
            if item in ("", "*"):
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as err:
                raise ValueError(
                    f"{item!r} is not an address or a network (e.g. 127.0.0.1 or 10.0.0.0/8)"
                ) from err
        return value

    @field_validator("disk_guard_free_mb")
    @classmethod
    def _guard_above_ingest_floor(cls, value: int, info: ValidationInfo) -> int:
        floor = info.data.get("min_free_disk_mb")
        chosen = value not in (0, DISK_GUARD_DEFAULT_MB)
        if chosen and floor is not None and value <= floor:
            raise ValueError(
                f"must be 0 (off) or more than SHELFCAM_MIN_FREE_DISK_MB ({floor}), so the "
                "guard frees space before ingest refuses frames"
            )
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("must be mqtt://[user:password@]host[:port] or mqtts://... for TLS")
        try:
            parts.port  # noqa: B018 - parsing the port is the check
        except ValueError as err:
            raise ValueError("the port must be a number from 1 to 65535") from err
        return value.strip()

    @field_validator("mqtt_prefix", "ha_discovery_prefix")
    @classmethod
    def _check_topic_prefix(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if value == "" and info.field_name == "ha_discovery_prefix":
            return value
        levels = value.split("/")
        if any(level == "" for level in levels) or any(c in value for c in "+#\0"):
            raise ValueError(
                "must be MQTT topic levels separated by '/', none of them empty, without '+' or '#'"
            )
        return value

    @field_validator("notify_urls")
    @classmethod
    def _check_notify_urls(cls, value: str | None) -> str | None:
        urls = split_list(value)
        for url in urls:
            if "://" not in url:
                raise ValueError(
                    "each entry must be an Apprise URL such as ntfys://topic or json://host/path"
                )
        return ",".join(urls) or None

    @field_validator("notify_event_types")
    @classmethod
    def _check_notify_types(cls, value: str) -> str:
        types = split_list(value)
        unknown = [t for t in types if t not in EVENT_TYPES]
        if unknown or not types:
            raise ValueError(f"must be event types from {', '.join(EVENT_TYPES)}")
        return ",".join(types)

    @field_validator("webhook_urls")
    @classmethod
    def _check_webhook_urls(cls, value: str | None) -> str | None:
        urls = split_list(value)
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("each entry must be an http:// or https:// URL")
        return ",".join(urls) or None

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not value.strip():
            value = None
        if value is not None and len(value) < MIN_WEBHOOK_SECRET:
            raise ValueError(f"must be at least {MIN_WEBHOOK_SECRET} characters")
        if value is None and info.data.get("webhook_urls"):
            raise ValueError(
                "must be set when SHELFCAM_WEBHOOK_URLS is: receivers check every "
                "delivery's signature with it"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// address (http://pi.local:8000)")
        if parts.username or parts.password:
            raise ValueError("must not hold a user name or password (links are shown to people)")
        return value.strip().rstrip("/")

    @property
    def notify_url_list(self) -> tuple[str, ...]:
        return tuple(split_list(self.notify_urls))

    @property
    def notify_event_type_list(self) -> tuple[EventType, ...]:
        return tuple(t for t in EVENT_TYPES if t in split_list(self.notify_event_types))

    @property
    def webhook_url_list(self) -> tuple[str, ...]:
        return tuple(split_list(self.webhook_urls))

    @property
    def disk_guard_floor_mb(self) -> int:
        """Free space (MiB) the disk guard works to; 0: off. Always above the ingest floor."""
        if self.disk_guard_free_mb == 0 or self.disk_guard_free_mb > self.min_free_disk_mb:
            return self.disk_guard_free_mb
        return self.min_free_disk_mb + DISK_GUARD_DEFAULT_MB - MIN_FREE_DEFAULT_MB

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir.resolve() / "postgres"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlValues(settings_cls, _toml_values.get()))


class _TomlValues(PydanticBaseSettingsSource):
    """The already-parsed TOML file, below the environment in precedence."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


_toml_values: ContextVar[dict[str, Any]] = ContextVar("_toml_values", default={})  # noqa: B039


def _field_env(name: str) -> str:
    return f"{ENV_PREFIX}{name.upper()}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as err:
        raise ConfigError(f"config file {path} does not exist") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"config file {path} is not valid TOML: {err}") from err


def _explain(err: ValidationError, source: str) -> str:
    lines = []
    for problem in err.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "?"
        if problem["type"] == "extra_forbidden":
            lines.append(f"unknown setting {field!r} in {source}")
            continue
        shown = problem.get("input")
        if field in SECRET_SETTINGS and shown is not None:
            shown = "(not shown: it may hold a password)"
        lines.append(
            f"invalid setting {_field_env(field)} ({field} in a config file): "
            f"{problem['msg']}; got {shown!r}"
        )
    return "\n".join(lines)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings, raising :class:`ConfigError` with a readable message."""
    if config_file is None and os.environ.get(CONFIG_ENV):
        config_file = Path(os.environ[CONFIG_ENV])
    file_values: dict[str, Any] = {}
    source = "the environment"
    if config_file is not None:
        file_values = _read_toml(config_file)
        source = f"{config_file}"
    token = _toml_values.set(file_values)
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise ConfigError(_explain(err, source)) from err
    finally:
        _toml_values.reset(token)


def documented_settings() -> dict[str, str]:
    """Env var name -> description, for docs and the documentation test."""
    return {
        _field_env(name): field.description or "" for name, field in Settings.model_fields.items()
    }

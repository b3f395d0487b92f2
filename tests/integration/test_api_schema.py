"""Schemathesis: generated requests to the event, device, stats and image routes of a live
server (the device POSTs included, with an admin token) never fail with a 5xx and always
answer as the OpenAPI schema says."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from shelfcam.frames.files import FileFrameStore
from tests.e2e.live_server import live_server
from tests.events_seed import seed_event
from tests.webapp import create_token

ADMIN_PATHS = r"^/(api/v1/(events|devices|stats)|images/|snapshots/)"


def test_api_conforms_to_its_schema(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        seed_event(conn, FileFrameStore(tmp_path), device_id="pantry", started_at=datetime.now(UTC))
    token = asyncio.run(create_token(db_url))
    headers = {"Authorization": f"Bearer {token}"}
    with live_server(db_url, tmp_path) as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json").include(
            path_regex=ADMIN_PATHS
        )
        operations = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operations.append(result.ok())
        assert {op.path for op in operations} == {
            "/api/v1/events",
            "/api/v1/events/{event_id}",
            "/api/v1/devices",
            "/api/v1/devices/{device_id}",
            "/api/v1/devices/{device_id}/config",
            "/api/v1/devices/{device_id}/token",
            "/api/v1/devices/{device_id}/revoke",
            "/api/v1/devices/{device_id}/snapshot",
            "/api/v1/devices/{device_id}/mark-empty",
            "/api/v1/devices/{device_id}/latest.jpg",
            "/api/v1/devices/{device_id}/tuning/preview",
            "/api/v1/stats/events-per-day",
            "/images/{event_id}/{role}",
            "/snapshots/{capture_id}",
        }
        strategy = st.one_of(
            [op.as_strategy(generation_mode=mode) for op in operations for mode in GenerationMode]
        )

        @given(case=strategy)
        @settings(
            max_examples=150,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            # A cursor is opaque (only a previous page's next_cursor is valid) and since must
            # precede until: rules a schema cannot state, answered with 400 invalid_input.
            case.call_and_validate(
                base_url=base, headers=headers, excluded_checks=[positive_data_acceptance]
            )

        check()

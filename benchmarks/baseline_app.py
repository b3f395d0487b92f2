"""The ingest benchmark's baseline: the same stack (uvicorn, FastAPI, psycopg pool) doing
the least an upload needs: read the body, write it to a file with the same write policy
(temp file + rename, no fsync), insert one row with the captures columns and commit.
No auth, no validation, no queue. Run: uvicorn --factory benchmarks.baseline_app:create
with BASELINE_DATABASE_URL and BASELINE_DIR set."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg.types.json import Jsonb

from shelfcam.db.connect import open_pool

TABLE = """
CREATE TABLE IF NOT EXISTS bench_captures (
    capture_id uuid PRIMARY KEY, device_id text NOT NULL, received_at timestamptz NOT NULL,
    device_seq bigint, boot_id text NOT NULL DEFAULT '', captured_at timestamptz,
    storage_uri text, storage_class text NOT NULL, analysis_status text NOT NULL,
    analyzed_at timestamptz, analysis_error text, sha256_hex text, byte_size integer,
    width integer, height integer, meta jsonb NOT NULL DEFAULT '{}'::jsonb)
"""
INSERT = """
INSERT INTO bench_captures (capture_id, device_id, received_at, device_seq, storage_uri,
    storage_class, analysis_status, sha256_hex, byte_size, width, height, meta)
VALUES (%s, %s, %s, %s, %s, 'staging', 'queued', %s, %s, 640, 480, %s)
"""


def create() -> FastAPI:
    url = os.environ["BASELINE_DATABASE_URL"]
    root = Path(os.environ["BASELINE_DIR"])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await open_pool(url, size=10)
        async with app.state.pool.connection() as conn:
            await conn.execute(TABLE)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/baseline")
    async def baseline(request: Request) -> JSONResponse:
        body = await request.body()
        capture_id = uuid.uuid4()
        now = datetime.now(UTC)
        folder = root / "cam" / now.date().isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{capture_id}.jpg"
        tmp = folder / f".{final.name}.{secrets.token_hex(4)}.tmp"
        tmp.write_bytes(body)
        tmp.replace(final)
        seq = int(request.query_params.get("seq", "0"))
        async with app.state.pool.connection() as conn, conn.transaction():
            await conn.execute(
                INSERT,
                (
                    capture_id,
                    "cam",
                    now,
                    seq,
                    str(final),
                    hashlib.sha256(body).hexdigest(),
                    len(body),
                    Jsonb({}),
                ),
            )
        return JSONResponse({"capture_id": str(capture_id)}, status_code=201)

    return app

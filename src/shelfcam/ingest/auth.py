"""Device authentication: ``Authorization: Bearer <token>`` or ``X-API-Key: <token>``.

A token is looked up by its SHA-256 (an indexed equality), so checking one costs a
microsecond of hashing and one small query; no slow password hash per upload.
"""

from __future__ import annotations

from collections.abc import Mapping

from shelfcam.db import devices as device_queries
from shelfcam.db.connect import translate_errors_async
from shelfcam.db.types import Pool
from shelfcam.devices import hash_token
from shelfcam.errors import Unauthorized

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="shelfcam-ingest"'}


def token_from_headers(headers: Mapping[str, str]) -> str:
    authorization = headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    api_key = headers.get("x-api-key", "").strip()
    if api_key:
        return api_key
    raise Unauthorized(
        "a device token is required: 'Authorization: Bearer <token>' or 'X-API-Key: <token>'",
        headers=CHALLENGE,
    )


async def authenticate_device(pool: Pool, headers: Mapping[str, str]) -> str:
    """Return the device id the request's token belongs to, or raise 401."""
    token = token_from_headers(headers)
    async with translate_errors_async(), pool.connection() as conn:
        row = await device_queries.device_for_token(conn, hash_token(token))
    if row is None:
        raise Unauthorized("unknown device token", headers=CHALLENGE)
    if row["revoked"]:
        raise Unauthorized("this device's token has been revoked", headers=CHALLENGE)
    return str(row["device_id"])

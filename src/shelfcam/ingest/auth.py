"""Device authentication: ``Authorization: Bearer <token>`` or ``X-API-Key: <token>``.

A token is looked up by its SHA-256 (an indexed equality), so checking one costs a
microsecond of hashing and one small query (cached for a few seconds); no slow password
hash per upload.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from shelfcam.db import devices as device_queries
from shelfcam.db.connect import translate_errors_async
from shelfcam.db.types import Pool
from shelfcam.devices import hash_token
from shelfcam.errors import Unauthorized

CACHE_TTL_S = 5.0
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


class DeviceAuth:
    """Token -> device id, with a short-lived cache of successful lookups.

    A camera sends several frames a second; looking its token up once every ``ttl_s``
    seconds instead of on every frame saves a database round trip per upload. The price:
    a revoked or rotated token keeps working for at most ``ttl_s`` seconds.
    """

    def __init__(self, pool: Pool, ttl_s: float = CACHE_TTL_S, max_entries: int = 4096) -> None:
        self.pool = pool
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._cache: dict[bytes, tuple[str, float]] = {}

    async def device_for(self, headers: Mapping[str, str]) -> str:
        """Return the device id the request's token belongs to, or raise 401."""
        digest = hash_token(token_from_headers(headers))
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        async with translate_errors_async(), self.pool.connection() as conn:
            row = await device_queries.device_for_token(conn, digest)
        if row is None or row["revoked"]:
            self._cache.pop(digest, None)
            reason = "unknown device token" if row is None else "this device's token is revoked"
            raise Unauthorized(reason, headers=CHALLENGE)
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        device_id = str(row["device_id"])
        self._cache[digest] = (device_id, now + self.ttl_s)
        return device_id

    def forget(self, device_id: str) -> None:
        """Drop the device's cached tokens (after a rotation or revocation in this process)."""
        self._cache = {k: v for k, v in self._cache.items() if v[0] != device_id}

"""Queries behind the devices page: each camera's traffic, queue, last error and health,
read from captures (bounded by time, through the per-device indexes)."""

from __future__ import annotations

from datetime import datetime

from shelfcam.db.types import Conn, Row

# A snapshot's debug copy (meta.snapshot_of) is not a frame the camera sent.
_STATUS = """
SELECT d.device_id, d.created_at, d.last_seen_at, d.revoked,
       c.roi_version, c.interaction_roi, c.inventory_roi, c.thresholds, c.privacy_blur,
       c.created_at AS config_created_at,
       s.snapshot_requested_at, s.empty_ref_at,
       recent.frames AS recent_frames,
       queue.depth AS queue_depth, queue.oldest AS queue_oldest,
       err.analysis_error AS last_error, err.at AS last_error_at,
       health.meta AS health_meta, health.received_at AS health_at
FROM devices d
LEFT JOIN LATERAL (
    SELECT * FROM device_configs c0 WHERE c0.device_id = d.device_id
    ORDER BY c0.roi_version DESC LIMIT 1
) c ON true
LEFT JOIN device_state s ON s.device_id = d.device_id
LEFT JOIN LATERAL (
    SELECT count(*) AS frames FROM captures r
    WHERE r.device_id = d.device_id AND r.received_at > %(since)s
      AND NOT r.meta ? 'snapshot_of'
) recent ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS depth, min(q.received_at) AS oldest FROM captures q
    WHERE q.device_id = d.device_id AND q.analysis_status = 'queued'
) queue ON true
LEFT JOIN LATERAL (
    SELECT e.analysis_error, coalesce(e.analyzed_at, e.received_at) AS at FROM captures e
    WHERE e.device_id = d.device_id AND e.received_at > %(errors_since)s
      AND e.analysis_error IS NOT NULL
    ORDER BY e.received_at DESC LIMIT 1
) err ON true
LEFT JOIN LATERAL (
    SELECT h.meta, h.received_at FROM captures h
    WHERE h.device_id = d.device_id AND h.received_at > %(errors_since)s
      AND (h.meta ? 'rssi' OR h.meta ? 'heap' OR h.meta ? 'uptime' OR h.meta ? 'firmware')
    ORDER BY h.received_at DESC LIMIT 1
) health ON true
"""


async def device_status(
    conn: Conn, *, since: datetime, errors_since: datetime, device_id: str | None = None
) -> list[Row]:
    """One row per device (or just ``device_id``): configuration, state and traffic.

    ``recent_frames`` counts frames received after ``since``; the last error and the
    latest health report are looked for after ``errors_since`` only."""
    where = " WHERE d.device_id = %(device)s" if device_id is not None else ""
    cur = await conn.execute(
        _STATUS + where + " ORDER BY d.device_id",
        {"since": since, "errors_since": errors_since, "device": device_id},
    )
    return await cur.fetchall()

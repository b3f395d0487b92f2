"""The JSON API under /api/v1, one module per resource (admin session or API token)."""

from shelfcam.web.api import devices, events, images, latest, stats, tuning

ROUTERS = (
    events.router,
    devices.router,
    latest.router,
    tuning.router,
    stats.router,
    images.router,
)

"""The admin UI's HTML pages, one module per resource (all behind a session login)."""

from shelfcam.web.pages import devices, login, roi, stats, timeline, tokens, tuning

ROUTERS = (
    login.router,
    timeline.router,
    devices.router,
    roi.router,
    tuning.router,
    stats.router,
    tokens.router,
)

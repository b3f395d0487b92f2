"""Wires the admin UI, the JSON API and the image routes into the app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from shelfcam.web import api, auth, pages
from shelfcam.web.templating import build_templates

# Every router of the admin UI and its API (the tests walk these to check each route).
ROUTERS = (*pages.ROUTERS, *api.ROUTERS)


def install(app: FastAPI) -> None:
    """Templates, static files (vendored htmx), routes and the login redirect."""
    app.state.templates = build_templates()
    auth.install(app)
    app.mount("/static", StaticFiles(packages=[("shelfcam.web", "static")]), name="static")
    for router in ROUTERS:
        app.include_router(router)

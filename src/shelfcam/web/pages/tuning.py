"""The tuning page: a device's thresholds (defaults and its overrides), recent scores plotted
against them, and a preview of what proposed values would change before they are saved as
a new roi_version."""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import logging
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from shelfcam import devices
from shelfcam.accounts import admins
from shelfcam.engine.config import Thresholds
from shelfcam.errors import InvalidInput, NotFound
from shelfcam.tuning import evidence, judge
from shelfcam.web import svg
from shelfcam.web.auth import require_csrf, require_page_session
from shelfcam.web.context import AppContext, get_context
from shelfcam.web.pages.devices import not_found_page
from shelfcam.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

Context = Annotated[AppContext, Depends(get_context)]
PageSession = Annotated[admins.Session, Depends(require_page_session)]
PostSession = Annotated[admins.Session, Depends(require_csrf)]
Frames = Annotated[int, Query(ge=100, le=20_000)]


@functools.cache
def threshold_docs() -> dict[str, str]:
    """Each threshold's docstring (the attribute docstrings of ``Thresholds``)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(Thresholds)))
    body = tree.body[0].body if isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


@dataclass(frozen=True)
class Row:
    name: str
    doc: str
    default: float
    current: float
    text: str
    """What the form's field holds: the override, or empty for the default."""
    integer: bool
    charted: bool


def raw_fields(form: Mapping[str, Any]) -> dict[str, str]:
    """The threshold fields of a form, as typed (stripped)."""
    found = {}
    for name in Thresholds.names():
        value = form.get(name)
        found[name] = value.strip() if isinstance(value, str) else ""
    return found


def parse_overrides(raw: Mapping[str, str]) -> dict[str, float | int]:
    """Typed threshold fields -> overrides; an empty field means the default."""
    defaults = Thresholds()
    overrides: dict[str, float | int] = {}
    for name in Thresholds.names():
        text = raw.get(name, "")
        if not text:
            continue
        try:
            number = float(text)
        except ValueError as err:
            raise InvalidInput(f"{name}: {text!r} is not a number") from err
        integer = isinstance(getattr(defaults, name), int)
        overrides[name] = int(number) if integer and number.is_integer() else number
    return overrides


def _rows(current: Thresholds, raw: Mapping[str, str]) -> list[Row]:
    defaults = Thresholds()
    docs = threshold_docs()
    charted = {rule.threshold for rule in judge.RULES}
    return [
        Row(
            name=name,
            doc=docs.get(name, ""),
            default=getattr(defaults, name),
            current=getattr(current, name),
            text=raw.get(name, ""),
            integer=isinstance(getattr(defaults, name), int),
            charted=name in charted,
        )
        for name in Thresholds.names()
    ]


def _charts(
    seen: evidence.Evidence, proposed: Thresholds
) -> list[tuple[judge.Histogram, svg.Chart]]:
    found = []
    for rule in judge.RULES:
        marks = []
        for event in seen.events:
            value = event.scores.get(rule.event_score)
            if rule.score == "inventory_delta" and event.rescored:
                value = event.rescored.get("inventory_delta", value)
            if isinstance(value, int | float) and not isinstance(value, bool):
                marks.append((float(value), event.event_type))
        h = judge.histogram(
            rule,
            judge.frame_values(seen.frames, rule.score),
            float(getattr(seen.current, rule.threshold)),
            float(getattr(proposed, rule.threshold)),
            marks,
        )
        found.append((h, svg.histogram_chart(h)))
    return found


async def _page(
    request: Request,
    context: AppContext,
    session: admins.Session,
    device_id: str,
    *,
    frames: int = evidence.FRAMES,
    form: Mapping[str, Any] | None = None,
    message: str | None = None,
    block: str | None = None,
) -> Response:
    try:
        async with context.require_pool().connection() as conn:
            found = await evidence.gather(
                conn, context.store, device_id, context.rescore_cache, frames=frames
            )
    except NotFound as err:
        return not_found_page(request, session, err)
    except InvalidInput as err:  # e.g. overrides stored by an older version, now refused
        problem = {"session": session, "title": "Cannot tune this camera", "message": err.detail}
        return render(request, "error.html", problem, status_code=400)
    error: str | None = None
    if form is None:
        raw = {k: str(v) for k, v in found.overrides.items()}
        proposed = found.current
    else:
        raw = raw_fields(form)
        try:
            proposed = Thresholds.from_overrides(parse_overrides(raw))
        except InvalidInput as err:
            error, proposed = err.detail, found.current
    preview = judge.preview(found.events, found.frames, found.current, proposed)
    values: dict[str, Any] = {
        "session": session,
        "device": found.device,
        "rows": _rows(found.current, raw),
        "charts": _charts(found, proposed),
        "preview": preview,
        "frames": frames,
        "frames_found": len(found.frames),
        "message": message,
        "error": error,
    }
    # A refused proposal is an error for a form post, but the live preview (htmx) shows
    # the reason in place, which htmx only does for a 2xx answer.
    status = 400 if error and block is None and form is not None else 200
    return render(request, "tuning.html", values, status_code=status, block_name=block)


@router.get("/devices/{device_id}/tuning")
async def tuning_page(
    request: Request,
    context: Context,
    session: PageSession,
    device_id: str,
    frames: Frames = evidence.FRAMES,
    saved: Annotated[int | None, Query(ge=1)] = None,
    unchanged: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    message = None
    if saved is not None:
        message = f"Saved: the camera now uses roi_version {saved}."
    elif unchanged:
        message = "Nothing changed: these are already the thresholds in force."
    return await _page(request, context, session, device_id, frames=frames, message=message)


@router.post("/devices/{device_id}/tuning/preview")
async def tuning_preview(
    request: Request,
    context: Context,
    session: PostSession,
    device_id: str,
    frames: Frames = evidence.FRAMES,
) -> Response:
    form = await request.form()
    block = "results" if request.headers.get("HX-Request") else None
    return await _page(
        request, context, session, device_id, frames=frames, form=dict(form), block=block
    )


@router.post("/devices/{device_id}/tuning")
async def tuning_save(
    request: Request, context: Context, session: PostSession, device_id: str
) -> Response:
    form = dict(await request.form())
    reset = form.get("reset") == "1"
    try:
        overrides = {} if reset else parse_overrides(raw_fields(form))
        Thresholds.from_overrides(overrides)
        async with context.require_pool().connection() as conn:
            device = await devices.get_device(conn, device_id)
            if overrides == (device["thresholds"] or {}):
                return RedirectResponse(f"/devices/{device_id}/tuning?unchanged=1", status_code=303)
            version = await devices.set_config(conn, device_id, thresholds=overrides)
    except NotFound as err:
        return not_found_page(request, session, err)
    except InvalidInput:
        return await _page(request, context, session, device_id, form=form)
    log.info(
        "action=thresholds_saved device=%s roi_version=%d overrides=%d user=%s",
        device_id,
        version,
        len(overrides),
        session.username,
    )
    return RedirectResponse(f"/devices/{device_id}/tuning?saved={version}", status_code=303)

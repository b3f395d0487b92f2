"""A device's references: the empty-shelf view the user marks, kept in the database."""

from __future__ import annotations

from shelfcam.analysis import eventframes
from shelfcam.db import analysis as queries
from shelfcam.db.types import Conn
from shelfcam.errors import InvalidInput, NotFound
from shelfcam.frames.routing import store_call
from shelfcam.frames.store import FrameStore
from shelfcam.vision import decode_gray
from shelfcam.vocabulary import validate_device_id


async def mark_empty(
    conn: Conn, store: FrameStore, name: str, jpeg: bytes | None = None, source: str = ""
) -> str:
    """Make the device's latest stable frame (or the given JPEG) its empty-shelf reference.

    Returns where the reference came from. The engine then confirms ``empty_confirmed``
    when the inventory ROI looks like it over several stable frames.
    """
    device_id = validate_device_id(name)
    if jpeg is not None:
        data = jpeg
        source = source or "the given JPEG"
    else:
        row = await queries.latest_stable_capture(conn, device_id)
        if row is None:
            raise NotFound(
                f"device {device_id!r} has no stable frame yet: let the camera send frames "
                "of the empty shelf for a few seconds, then try again"
            )
        try:
            data = await store_call(store, store.get, row["storage_uri"])
        except FileNotFoundError as err:
            raise NotFound(f"the latest stable frame of {device_id!r} is gone") from err
        source = f"capture {row['capture_id']}"
    try:
        reference = eventframes.reference_jpeg(decode_gray(data))
    except InvalidInput as err:
        raise InvalidInput(f"the empty reference is not a readable JPEG: {err.detail}") from err
    if not await queries.set_empty_reference(conn, device_id, reference):
        raise NotFound(f"no device named {device_id!r}")
    return source

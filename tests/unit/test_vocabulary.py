"""Every list of event types, image roles, storage classes and analysis statuses comes from
shelfcam.vocabulary: the layers that use them agree with it, and no module spells one of
the lists out again (the database's copies are checked in
tests/integration/test_vocabulary_checks.py)."""

from __future__ import annotations

import ast
import uuid
from datetime import date
from pathlib import Path
from typing import get_args, get_type_hints

import pytest

from shelfcam import vocabulary
from shelfcam.activity import timeline
from shelfcam.db.events import EventFilter
from shelfcam.engine import decisions
from shelfcam.errors import InvalidInput
from shelfcam.frames import layout
from shelfcam.retention import plan
from shelfcam.web import formatting, schemas

SRC = Path(__file__).parents[2] / "src" / "shelfcam"
LISTS: dict[str, set[str]] = {
    "event types": set(vocabulary.EVENT_TYPES),
    "image roles": set(vocabulary.IMAGE_ROLES),
    "frame roles": set(vocabulary.FRAME_ROLES),
    "storage classes": set(vocabulary.STORAGE_CLASSES),
    "analysis statuses": set(vocabulary.ANALYSIS_STATUSES),
}


def test_the_lists_are_what_the_types_say() -> None:
    assert get_args(vocabulary.EventType) == vocabulary.EVENT_TYPES
    assert len(vocabulary.EVENT_TYPES) == 5
    assert vocabulary.IMAGE_ROLES[: len(vocabulary.FRAME_ROLES)] == vocabulary.FRAME_ROLES
    assert vocabulary.FRAME_ROLES == ("pre", "during", "post")
    assert set(vocabulary.IMAGE_ROLES) - set(vocabulary.FRAME_ROLES) == {"annotated", "thumb"}


def test_every_word_has_a_label() -> None:
    assert tuple(vocabulary.EVENT_TYPE_LABELS) == vocabulary.EVENT_TYPES
    assert tuple(vocabulary.IMAGE_ROLE_LABELS) == vocabulary.IMAGE_ROLES
    for event_type in vocabulary.EVENT_TYPES:
        assert formatting.type_label(event_type) == vocabulary.EVENT_TYPE_LABELS[event_type]
    assert len(set(vocabulary.EVENT_TYPE_LABELS.values())) == len(vocabulary.EVENT_TYPES)


def test_the_engine_emits_the_vocabulary_types() -> None:
    hints = get_type_hints(decisions.NewEvent)
    assert hints["event_type"] == vocabulary.EventType
    assert set(get_args(get_args(hints["images"])[0])) == set(vocabulary.FRAME_ROLES)


def test_the_api_schema_enumerates_the_vocabulary() -> None:
    event = schemas.EventOut.model_json_schema()
    assert tuple(event["properties"]["event_type"]["enum"]) == vocabulary.EVENT_TYPES
    image = schemas.EventImageOut.model_json_schema()
    assert tuple(image["properties"]["role"]["enum"]) == vocabulary.IMAGE_ROLES


def test_the_frame_store_lays_out_every_image_role_and_no_other() -> None:
    event_id = uuid.uuid4()
    for role in vocabulary.IMAGE_ROLES:
        uri = layout.event_uri("pantry", date(2026, 1, 2), event_id, role)
        assert layout.check_uri(uri) == uri
    with pytest.raises(InvalidInput):
        layout.event_uri("pantry", date(2026, 1, 2), event_id, "sideways")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        layout.check_uri(f"events/pantry/2026-01-02/{event_id}/sideways.jpg")


def test_the_timeline_filters_on_exactly_the_event_types() -> None:
    for event_type in vocabulary.EVENT_TYPES:
        timeline.validate_filter(EventFilter(event_type=event_type))
    with pytest.raises(InvalidInput):
        timeline.validate_filter(EventFilter(event_type="stock_taken"))


def test_retention_plans_in_the_storage_classes() -> None:
    hints = get_type_hints(plan.CaptureRow)
    assert hints["storage_class"] == vocabulary.StorageClass


def _spelled_out(tree: ast.AST) -> list[tuple[int, str]]:
    """Collections of string constants in ``tree`` (tuples, lists, sets, dict keys; a
    ``Literal[...]`` is a tuple) that hold a whole vocabulary list."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None]
        else:
            continue
        words = {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
        found += [(node.lineno, name) for name, full in LISTS.items() if full <= words]
    return found


def test_no_module_spells_a_list_out_again() -> None:
    copies = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "vocabulary.py":
            continue
        for line, name in _spelled_out(ast.parse(path.read_text(), str(path))):
            copies.append(f"{path.relative_to(SRC)}:{line} spells out the {name}")
    assert copies == []


def test_the_copy_finder_finds_a_copy() -> None:
    copy = (
        "KINDS = ('pre', 'during', 'post', 'annotated', 'thumb')\n"
        "Role = Literal['pre', 'during', 'post']\n"
        "ORDER = ('post', 'pre')\n"
    )
    assert _spelled_out(ast.parse(copy)) == [
        (1, "image roles"),
        (1, "frame roles"),
        (2, "frame roles"),
    ]

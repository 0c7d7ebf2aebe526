"""Flatten, field profiling and frame dtypes: the pure parts of the drift check (no GX import)."""

from __future__ import annotations

import pytest

from bucket_governance.checks.drift.baselines import profile_fields
from bucket_governance.checks.drift.frame import MetadataWindow, build_frame, flatten
from bucket_governance.errors import InvalidInputError

pytestmark = pytest.mark.unit


def _window(*rows: dict[str, object]) -> MetadataWindow:
    window = MetadataWindow("p", "C")
    for i, row in enumerate(rows):
        window.add(f"a-{i}", 1, 1_000 + i, row)
    return window


def test_flatten_joins_nested_keys_and_keeps_lists_and_empty_objects() -> None:
    flat = flatten({"a": {"b": {"c": 1}}, "d": [1, {"x": 2}], "e": {}, "f": None})

    assert flat == {"a.b.c": 1, "d": [1, {"x": 2}], "e": {}, "f": None}


def test_profile_marks_fields_on_every_row_required_and_the_rest_optional() -> None:
    window = _window({"id": "x", "n": 1, "tag": "a"}, {"id": "y", "n": 2.5}, {"id": "z", "n": 3, "tag": None})

    specs = {s.name: s for s in profile_fields(window.stats(), len(window), {"tag": ["a", "b"]})}

    assert (specs["id"].type, specs["id"].required) == ("string", True)
    assert (specs["n"].type, specs["n"].required) == ("number", True)  # ints and floats: a JSON number
    assert (specs["tag"].required, specs["tag"].nullable, specs["tag"].allowed_values) == (False, True, ("a", "b"))


def test_allowed_values_for_an_unknown_field_are_refused() -> None:
    window = _window({"id": "x"})

    with pytest.raises(InvalidInputError) as caught:
        profile_fields(window.stats(), len(window), {"colour": ["red"]})

    assert caught.value.code == "allowed_values_unknown_field"


def test_frame_types_homogeneous_columns_and_keeps_mixed_ones_as_objects() -> None:
    window = _window({"n": 1, "s": "a"}, {"n": "2", "s": "b"}, {"s": None, "new": True})

    frame = build_frame(window.rows, {"n": "integer", "s": "string", "gone": "integer"}, window.stats())

    assert list(frame.columns) == ["n", "s", "gone", "new"]
    assert str(frame["n"].dtype) == "object"  # an int and a string: GX checks each row
    assert str(frame["s"].dtype) == "str"  # pandas 3 string dtype, which GX matches as "str"
    assert frame["gone"].isna().all()  # a baseline field absent from the window: an all-null column
    assert str(frame["new"].dtype) == "boolean"

"""Validate a submitted trigger form, and describe each field as a JSON schema for trigger-form Params."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import ValidationError

from bucket_governance.errors import InvalidInputError
from bucket_governance.incidents.inputs import Form
from bucket_governance.incidents.registry import Playbook

_DROP = {"title"}


def validate_form(playbook: Playbook, submitted: dict[str, Any]) -> Form:
    """The validated form, or InvalidInputError naming every bad field and why (unknown keys included)."""
    try:
        return playbook.form.model_validate(submitted)
    except ValidationError as exc:
        problems = [_problem(err) for err in exc.errors()]
        raise InvalidInputError(
            "form_invalid", f"{playbook.playbook_id} trigger form rejected: " + "; ".join(problems)
        ) from None


def _problem(error: Any) -> str:
    field = ".".join(str(p) for p in error["loc"]) or "(form)"
    if error["type"] == "extra_forbidden":
        return f"field {field!r} is not part of this form (unknown key)"
    return f"field {field!r}: {error['msg']}"


def field_schemas(playbook: Playbook) -> dict[str, dict[str, Any]]:
    """One JSON schema per form field ($refs and Optional unions inlined), with ``default`` when optional.

    A required field has no ``default`` key: Airflow then refuses to create a run without it.
    """
    schema = playbook.form.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields: dict[str, dict[str, Any]] = {}
    for name, prop in schema["properties"].items():
        spec = _inline(prop, defs)
        if name not in required:
            default = playbook.form.model_fields[name].get_default(call_default_factory=True)
            spec["default"] = default.value if isinstance(default, Enum) else default
        fields[name] = spec
    return fields


def _inline(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in prop:
        target = defs[prop["$ref"].split("/")[-1]]
        prop = {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
    if "anyOf" in prop:
        prop = _nullable(prop, defs)
    if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
        prop = {**prop, "items": _inline(prop["items"], defs)}
    return {k: v for k, v in prop.items() if k not in _DROP}


def _nullable(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """``X | None`` → X's schema with ``type: [X, "null"]`` — the shape Airflow's form renders."""
    options = [o for o in prop["anyOf"] if o.get("type") != "null"]
    rest = {k: v for k, v in prop.items() if k != "anyOf"}
    if len(options) != 1:
        return prop
    inner = _inline(options[0], defs)
    inner_type = inner.get("type", "string")
    return {**inner, **rest, "type": [inner_type, "null"]}

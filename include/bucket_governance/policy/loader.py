"""Load ``include/policy/*.yaml`` into a :class:`Policy`, with errors that name file, field and problem."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bucket_governance.errors import PolicyError
from bucket_governance.policy.models import (
    Actor,
    ActorKind,
    ArtifactClass,
    Integration,
    Limits,
    Policy,
    Product,
)


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy with fast lookups and its fingerprint."""

    policy: Policy
    sources: tuple[Path, ...]

    @cached_property
    def fingerprint(self) -> str:
        return policy_fingerprint(self.policy)

    @cached_property
    def products(self) -> dict[str, Product]:
        return {p.id: p for p in self.policy.products}

    @cached_property
    def classes(self) -> dict[str, ArtifactClass]:
        return {c.name: c for c in self.policy.artifact_classes}

    @cached_property
    def integrations(self) -> dict[str, Integration]:
        return {i.id: i for i in self.policy.integrations}

    @cached_property
    def actors(self) -> dict[str, Actor]:
        return {a.id: a for a in self.policy.actors}

    @property
    def limits(self) -> Limits:
        return self.policy.limits

    def owners_of(self, product_id: str) -> frozenset[str]:
        return frozenset(self.products[product_id].owners)


def policy_fingerprint(policy: Policy) -> str:
    """SHA-256 of the canonical JSON form: same policy content, same fingerprint, whatever the YAML layout."""
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_policy(policy_dir: Path) -> LoadedPolicy:
    files = sorted(policy_dir.glob("*.yaml"))
    if not files:
        raise PolicyError(f"{policy_dir}: no policy files (*.yaml) found; point BUCKET_GOV_POLICY_DIR at one")
    document, origin = _merge_files(files)
    try:
        policy = Policy.model_validate(document)
    except ValidationError as exc:
        raise PolicyError(_describe(exc, origin)) from None
    _check_references(policy, origin)
    return LoadedPolicy(policy=policy, sources=tuple(files))


def _merge_files(files: Iterable[Path]) -> tuple[dict[str, Any], dict[str, Path]]:
    """Merge top-level sections of every file; remember which file each section came from."""
    document: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for path in files:
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise PolicyError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(content, dict):
            raise PolicyError(f"{path}: the top level must be a mapping of sections, got {type(content).__name__}")
        for section, value in content.items():
            if section in document:
                raise PolicyError(f"{path}: section {section!r} is already defined in {origin[section]}")
            document[section] = value
            origin[section] = path
    return document, origin


def _describe(exc: ValidationError, origin: dict[str, Path]) -> str:
    lines = []
    for err in exc.errors():
        loc = err["loc"]
        where = origin.get(str(loc[0]), "policy") if loc else "policy"
        field = _format_loc(loc)
        lines.append(f"{where}: {field or '(top level)'}: {err['msg']}")
    return "invalid policy:\n  " + "\n  ".join(lines)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _check_references(policy: Policy, origin: dict[str, Path]) -> None:
    """Cross-references between sections: every id used must exist and have the right kind."""
    problems = _check_products(policy, origin) + _check_integrations_and_actors(policy, origin)
    _check_unique(policy, origin, problems)
    if problems:
        raise PolicyError("invalid policy:\n  " + "\n  ".join(problems))


def _check_products(policy: Policy, origin: dict[str, Path]) -> list[str]:
    problems: list[str] = []
    class_names = {c.name for c in policy.artifact_classes}
    actors = {a.id: a for a in policy.actors}
    for i, p in enumerate(policy.products):
        for cls in sorted(set(p.artifact_classes) - class_names):
            problems.append(f"{origin['products']}: products[{i}].artifact_classes: unknown class {cls!r}")
        for owner in p.owners:
            actor = actors.get(owner)
            if actor is None or actor.kind is not ActorKind.OWNER or actor.product != p.id:
                problems.append(
                    f"{origin['products']}: products[{i}].owners: {owner!r} is not an actor of kind owner of {p.id!r}"
                )
    return problems


def _check_integrations_and_actors(policy: Policy, origin: dict[str, Path]) -> list[str]:
    problems: list[str] = []
    product_ids = {p.id for p in policy.products}
    for i, integ in enumerate(policy.integrations):
        if integ.product not in product_ids:
            problems.append(f"{origin['integrations']}: integrations[{i}].product: unknown product {integ.product!r}")
    for i, actor in enumerate(policy.actors):
        for pid in [actor.product, *actor.scope]:
            if pid is not None and pid not in product_ids:
                problems.append(f"{origin['actors']}: actors[{i}] ({actor.id}): unknown product {pid!r}")
    return problems


def _check_unique(policy: Policy, origin: dict[str, Path], problems: list[str]) -> None:
    sections: dict[str, list[str]] = {
        "products": [p.id for p in policy.products],
        "integrations": [i.id for i in policy.integrations],
        "actors": [a.id for a in policy.actors],
        "artifact_classes": [c.name for c in policy.artifact_classes],
    }
    for section, ids in sections.items():
        duplicates = sorted({x for x in ids if ids.count(x) > 1})
        if duplicates:
            problems.append(f"{origin[section]}: {section}: duplicate ids {duplicates}")

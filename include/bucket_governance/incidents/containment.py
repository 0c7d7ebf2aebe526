"""What each playbook contains: the controls it places, computed from its validated form (and the Bucket)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, select

from bucket_governance.bucket.policy_approval import last_approval
from bucket_governance.bucket.state import PIN_SUBJECT
from bucket_governance.db.tables import artifact_versions
from bucket_governance.errors import InvalidInputError
from bucket_governance.incidents import inputs
from bucket_governance.incidents.actions import ControlSpec
from bucket_governance.incidents.records import now_us
from bucket_governance.policy import ActorKind, LoadedPolicy

A = artifact_versions.c
HOUR_US = 3_600 * 1_000_000


def _products_of(conn: Connection, artifact_ids: list[str]) -> dict[str, str]:
    if not artifact_ids:
        return {}
    rows = conn.execute(select(A.artifact_id, A.product_id).where(A.artifact_id.in_(artifact_ids)).distinct())
    return {r.artifact_id: r.product_id for r in rows}


def _artifact_specs(
    conn: Connection, kind: str, artifact_ids: list[str], params: dict[str, Any] | None = None
) -> list[ControlSpec]:
    products = _products_of(conn, artifact_ids)
    return [ControlSpec(kind, a, products.get(a), params) for a in dict.fromkeys(artifact_ids)]


def _f1(conn: Connection, policy: LoadedPolicy, form: Any) -> list[ControlSpec]:
    actor = policy.actors[form.actor_id]
    since = now_us() - form.lookback_hours * HOUR_US
    written = conn.execute(
        select(A.artifact_id).where(A.created_by == form.actor_id, A.created_at_us >= since).distinct()
    ).scalars()
    return [
        ControlSpec("freeze_actor", form.actor_id, actor.product),
        *_artifact_specs(conn, "quarantine", [*form.artifact_ids, *written]),
    ]


def _f2(conn: Connection, policy: LoadedPolicy, form: Any) -> list[ControlSpec]:
    params = {"cooling_off_minutes": form.cooling_off_minutes}
    return [ControlSpec("freeze_actor", form.actor_id, policy.actors[form.actor_id].product, params)]


def _f4(conn: Connection, policy: LoadedPolicy, form: Any) -> list[ControlSpec]:
    approved = last_approval(conn)
    fingerprint = approved.fingerprint if approved else policy.fingerprint
    return [
        ControlSpec(
            "pin_policy", PIN_SUBJECT, None, {"fingerprint": fingerprint, "proposed": form.proposed_fingerprint}
        )
    ]


def _f7(conn: Connection, policy: LoadedPolicy, form: Any) -> list[ControlSpec]:
    return _artifact_specs(conn, "legal_hold", form.artifact_ids) + [
        ControlSpec("legal_hold", p, p) for p in dict.fromkeys(form.product_ids)
    ]


def _f8(conn: Connection, policy: LoadedPolicy, form: Any) -> list[ControlSpec]:
    if form.level != inputs.Level.CRITICAL:
        return []  # a warning escalates to ops (6 h); only critical halts
    return [ControlSpec("halt_product", form.product_id, form.product_id)]


def _f9(conn: Connection, policy: LoadedPolicy, form: Any) -> list[ControlSpec]:
    params = {"writes_per_second": form.writes_per_second}
    if form.artifact_ids:
        return _artifact_specs(conn, "throttle", form.artifact_ids, params)
    return [ControlSpec("throttle", form.product_id, form.product_id, params)]


def _none(conn: Connection, policy: LoadedPolicy, form: Any) -> list[ControlSpec]:
    return []


PLANS: dict[str, Callable[[Connection, LoadedPolicy, Any], list[ControlSpec]]] = {
    "F1": _f1,
    "F2": _f2,
    "F3": _none,
    "F4": _f4,
    "F5": lambda conn, policy, form: _artifact_specs(conn, "legal_hold", form.artifact_ids),
    "F6": _none,  # containment is the authority check (steps.contain)
    "F7": _f7,
    "F8": _f8,
    "F9": _f9,
    "F10": lambda conn, policy, form: _artifact_specs(conn, "quarantine", form.artifact_ids),
}


def plan(engine: Engine, policy: LoadedPolicy, playbook_id: str, form: Any) -> list[ControlSpec]:
    with engine.connect() as conn:
        return PLANS[playbook_id](conn, policy, form)


def check_references(policy: LoadedPolicy, playbook_id: str, form: Any) -> None:
    """Form values that must name things of the policy: refused up front, naming the field."""
    checks: list[tuple[str, Any, set[str], str]] = []
    for name in ("actor_id", "auditor_id", "approver_id"):
        if getattr(form, name, None) is not None:
            checks.append((name, getattr(form, name), set(policy.actors), "an actor of the policy"))
    if getattr(form, "product_id", None) is not None:
        checks.append(("product_id", form.product_id, set(policy.products), "a product of the policy"))
    for name in ("product_ids", "scope"):
        for value in getattr(form, name, None) or []:
            checks.append((name, value, set(policy.products), "a product of the policy"))
    for field, value, known, what in checks:
        if value not in known:
            raise InvalidInputError(
                "form_invalid", f"{playbook_id} trigger form rejected: field {field!r}: {value!r} is not {what}"
            )
    if playbook_id == "F2" and policy.actors[form.actor_id].kind is not ActorKind.AI:
        raise InvalidInputError(
            "form_invalid", f"F2 trigger form rejected: field 'actor_id': {form.actor_id!r} is not an AI actor"
        )
    if playbook_id == "F7" and not (form.artifact_ids or form.product_ids):
        raise InvalidInputError(
            "form_invalid", "F7 trigger form rejected: field 'artifact_ids': name artifacts or products in scope"
        )


def auditor_authority(policy: LoadedPolicy, form: Any) -> str | None:
    """F6: None when the auditor may ask about every product in scope, else the refusal."""
    actor = policy.actors[form.auditor_id]
    if actor.kind is not ActorKind.AUDITOR:
        return f"{form.auditor_id!r} is not an auditor"
    outside = sorted(set(form.scope) - set(actor.scope))
    return f"{form.auditor_id!r} has no authority over {', '.join(outside)}" if outside else None

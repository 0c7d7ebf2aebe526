"""API tokens per actor: `token issue|rotate|revoke|list`.

The plaintext token is printed once, by `issue` and `rotate`; the database keeps only its hash. Each
issue, rotation and revocation is a ledger entry (the token id, never the secret).
"""

from __future__ import annotations

import time
from typing import Any

import click

from bucket_governance.cli.context import CliContext, format_us

pass_cli = click.make_pass_decorator(CliContext)
MINUTE_US = 60 * 1_000_000
SHOWN_ONCE = "shown once — store it now; only its hash is kept"


def _now_us() -> int:
    return time.time_ns() // 1000


@click.group()
def token() -> None:
    """Bearer tokens for the HTTP API, one per actor and integration (hashed at rest, rotatable)."""


def _issued_text(doc: dict[str, Any]) -> str:
    return (
        f"token {doc['token_id']} for {doc['actor_id']} via {doc['integration_id']} "
        f"(expires {format_us(doc['expires_at_us'])}, ledger seq {doc['seq']}), {SHOWN_ONCE}:\n  {doc['token']}"
    )


@token.command("issue")
@click.option("--actor", "actor_id", required=True, help="The policy actor the token speaks for.")
@click.option("--integration", "integration_id", required=True, help="An integration of the actor's product.")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=90, show_default=True)
@pass_cli
def token_issue(cli: CliContext, actor_id: str, integration_id: str, expires_days: int) -> None:
    """Issue a token; its plaintext is printed once."""
    from bucket_governance.tokens import DAY_US, issue

    with cli.engine.begin() as conn:
        issued = issue(
            conn, cli.policy, actor_id, integration_id, now_us=_now_us(), expires_in_us=expires_days * DAY_US
        )
    cli.emit(issued.as_dict(), _issued_text(issued.as_dict()))


@token.command("rotate")
@click.argument("token_id")
@click.option(
    "--grace-minutes",
    type=click.IntRange(0, 7 * 24 * 60),
    default=0,
    show_default=True,
    help="How long the old token keeps working (0: it stops now).",
)
@pass_cli
def token_rotate(cli: CliContext, token_id: str, grace_minutes: int) -> None:
    """Replace a token for the same actor and integration; the old one ends after the grace period."""
    from bucket_governance.tokens import rotate

    with cli.engine.begin() as conn:
        change = rotate(conn, cli.policy, token_id, now_us=_now_us(), grace_us=grace_minutes * MINUTE_US)
    assert change.replacement is not None
    doc = change.as_dict()
    human = f"token {token_id} ends {format_us(change.expires_at_us)}; replaced by " + _issued_text(doc["replacement"])
    cli.emit(doc, human)


@token.command("revoke")
@click.argument("token_id")
@pass_cli
def token_revoke(cli: CliContext, token_id: str) -> None:
    """Stop a token now."""
    from bucket_governance.tokens import revoke

    with cli.engine.begin() as conn:
        change = revoke(conn, cli.policy, token_id, now_us=_now_us())
    cli.emit(change.as_dict(), f"token {token_id} revoked (ledger seq {change.seq})")


def _state(row: dict[str, Any], now_us: int) -> str:
    if row["revoked_at_us"] is not None:
        return "revoked"
    if row["expires_at_us"] <= now_us:
        return "expired"
    return "rotating" if row["replaced_by"] else "active"


@token.command("list")
@click.option("--actor", "actor_id", help="Only this actor's tokens.")
@pass_cli
def token_list(cli: CliContext, actor_id: str | None) -> None:
    """Tokens, newest first (ids, owners and times — never a secret)."""
    from bucket_governance.tokens import list_tokens

    now = _now_us()
    with cli.engine.connect() as conn:
        rows = [{**r, "state": _state(r, now)} for r in list_tokens(conn, actor_id=actor_id)]
    lines = [f"{len(rows)} token(s)"] + [
        f"  {r['token_id']}  {r['state']:<8} {r['actor_id']:<24} {r['integration_id']:<22} "
        f"expires {format_us(r['expires_at_us'])}" + (f" → {r['replaced_by']}" if r["replaced_by"] else "")
        for r in rows
    ]
    cli.emit({"tokens": rows}, "\n".join(lines))


COMMANDS = (token,)

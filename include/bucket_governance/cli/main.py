"""``bucket-gov``: the command line of SPEC §5. Exit codes: 0 ok, 1 denied / problems found, 2 bad input.

User errors become one sentence (or ``{"error": {"code", "message"}}`` with --json), never a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from bucket_governance.cli import (
    commands_api,
    commands_bucket,
    commands_capacity,
    commands_drift,
    commands_findings,
    commands_incidents,
    commands_ledger,
    commands_ops,
    commands_tokens,
)
from bucket_governance.cli.context import CliContext
from bucket_governance.errors import EXIT_BAD_INPUT, GovernanceError
from bucket_governance.settings import get_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", envvar="BUCKET_GOV_DB_URL", help="Database URL (default: SQLite file under var/).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: one JSON document on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Show the library's log messages on stderr.")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, as_json: bool, verbose: bool) -> None:
    """Governance of the shared Bucket: policy, governed writes, the audit ledger and its checks."""
    # Commands print what matters themselves; library logs are for -v (and for Airflow task logs).
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = CliContext(db_url=db_url or get_settings().resolved_db_url(), as_json=as_json)


for module in (
    commands_bucket,
    commands_ops,
    commands_findings,
    commands_ledger,
    commands_drift,
    commands_capacity,
    commands_api,
    commands_incidents,
    commands_tokens,
):
    for command in module.COMMANDS:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    as_json = "--json" in (argv if argv is not None else sys.argv[1:])
    try:
        # standalone_mode=False hands us exceptions and exit codes instead of exiting inside click.
        result = cli.main(args=argv, prog_name="bucket-gov", standalone_mode=False)
    except GovernanceError as exc:
        _fail(exc.as_dict(), exc.message, exc.exit_code, as_json)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # usage errors: click's own message, exit 2
        _fail(
            {"error": {"code": "usage", "message": exc.format_message()}}, exc.format_message(), EXIT_BAD_INPUT, as_json
        )
    except click.Abort:
        sys.exit(130)
    except Exception as exc:
        _fail_database_or_unknown(exc, as_json)
    sys.exit(result if isinstance(result, int) else 0)


def _fail_database_or_unknown(exc: Exception, as_json: bool) -> None:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    if isinstance(exc, OperationalError | ProgrammingError):
        detail = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        message = f"the database could not be used ({detail}); run `bucket-gov init` first, or check --db"
        _fail({"error": {"code": "database_unavailable", "message": message}}, message, EXIT_BAD_INPUT, as_json)
    message = f"unexpected error: {type(exc).__name__}: {exc}"
    _fail({"error": {"code": "internal_error", "message": message}}, message, 3, as_json)


def _fail(document: dict[str, Any], message: str, code: int, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stderr.write(f"error: {message}\n")
    sys.exit(code)


if __name__ == "__main__":
    main()

"""`serve`: the HTTP API (SPEC §4) on uvicorn, against the database given by --db."""

from __future__ import annotations

import click

from bucket_governance.cli.context import CliContext

pass_cli = click.make_pass_decorator(CliContext)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8400, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--log-level", default="warning", show_default=True, type=click.Choice(["debug", "info", "warning"]))
@pass_cli
def serve(cli: CliContext, host: str, port: int, log_level: str) -> int:
    """Serve the governed Bucket over HTTP until interrupted (the same app the Airflow plugin mounts)."""
    import uvicorn

    # The API package depends on the library, not the reverse: imported here, only for this command.
    from bucket_governance_api import create_app  # type: ignore[import-untyped,unused-ignore]

    settings = cli.settings.model_copy(update={"db_url": cli.db_url})
    app = create_app(settings=settings, engine=cli.engine, policy=cli.policy)
    uvicorn.run(app, host=host, port=port, log_level=log_level)
    return 0


COMMANDS = (serve,)

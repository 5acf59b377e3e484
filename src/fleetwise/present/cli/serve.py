"""``fleetwise serve``: the dashboard over the store, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from fleetwise.config import database_url
from fleetwise.errors import MissingDependencyError
from fleetwise.present.cli.common import DbOption, FleetOption, open_store, stderr

#: Loopback only by default: the dashboard shows the whole store to whoever reaches it.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8050


def serve_cmd(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 exposes it to the network).")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = DEFAULT_PORT,
    db: DbOption = None,
    fleet: FleetOption = None,
) -> None:
    """Serve the dashboard: overview, benchmarks, diagnosis, plan, capacity, process, retros.

    Every page has a JSON twin (/plan -> /plan.json); the API is described at
    /openapi.json. Writing (recording a decision) needs FLEETWISE_TOKEN set here and
    'Authorization: Bearer <token>' on the request.
    """
    try:
        import uvicorn

        from fleetwise.present.web import create_app
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "fastapi", "web") from exc
    open_store(db, must_exist=True).close()  # a mistyped --db is an error, not an empty store
    token = os.environ.get("FLEETWISE_TOKEN") or None
    from fleetwise.usecases.fleet import profile_for

    app = create_app(database_url(db), token=token, profile=profile_for(fleet))
    err = stderr()
    err.print(f"fleetwise dashboard on http://{host}:{port}/ (Ctrl-C stops it)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"warning: listening on {host}: anyone who can reach it can read the store")
    err.print("writing: " + ("on (bearer token)" if token else "off (set FLEETWISE_TOKEN)"))
    uvicorn.run(app, host=host, port=port, log_level="warning")

"""``inpaint serve [--host 127.0.0.1] [--port 8080] [--model M] [--engine auto|trt|onnx|torch] [--max-batch N]``
``[--max-upload-mb 50] [--max-megapixels 100] [--token T]``: the HTTP API and the brush page.

Loads the model once, then serves with uvicorn (:mod:`inpaint.serve.app`). SIGTERM (and Ctrl+C) stop
accepting connections, finish the requests in flight (up to :data:`DRAIN_S` seconds) and exit 0.
Imports nothing heavy at import time: ``inpaint serve --help`` works without the serve extra.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Optional

import typer

from inpaint.cli.run import ENGINE_HELP
from inpaint.errors import UserError

#: seconds SIGTERM waits for the requests in flight: under Kubernetes' default terminationGracePeriodSeconds
#: (30 s), after which it sends SIGKILL
DRAIN_S = 25
#: --host values that serve this machine only
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind: 127.0.0.1 serves this machine only; 0.0.0.0 serves the network (then pass --token)."),
    port: int = typer.Option(8080, "--port", "-p", help="TCP port."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="An .onnx from 'inpaint export', a .engine or a .safetensors checkpoint (default: the bundled model)."),
    engine: str = typer.Option("auto", "--engine", "-e", help=ENGINE_HELP),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available) | cpu | cuda."),
    max_batch: int = typer.Option(4, "--max-batch", "-b", help="Queued requests of equal size and options run together, up to this many."),
    max_upload_mb: float = typer.Option(50, "--max-upload-mb", help="Largest request body in MB (photo + mask); larger gets 413 before it is read."),
    max_megapixels: float = typer.Option(100, "--max-megapixels", help="Largest photo or mask (width x height, from its header); larger gets 413 before it is decoded."),
    token: Optional[str] = typer.Option(None, "--token", envvar="INPAINT_TOKEN", help="Require 'Authorization: Bearer TOKEN' on every endpoint but /healthz (also read from $INPAINT_TOKEN)."),
) -> int:
    """Serve the model over HTTP: POST /v1/inpaint, GET /healthz, GET /openapi.json, and the brush page at /."""
    from inpaint._lazy import require

    for name in ("fastapi", "uvicorn", "python_multipart"):
        require(name)
    import uvicorn

    from inpaint.runtime.inpainter import Inpainter
    from inpaint.serve.app import LOOPBACK_HOSTS, Limits, create_app

    if not 0 <= port <= 65535:
        raise UserError(f"--port {port}: must be 0-65535")
    if max_batch < 1:
        raise UserError(f"--max-batch {max_batch}: must be 1 or more")
    if token is not None and not token.strip():
        raise UserError("--token: empty; give a secret, e.g. --token \"$(openssl rand -hex 16)\"")
    limits = Limits(max_upload_mb=max_upload_mb, max_megapixels=max_megapixels)
    loopback = host in LOOPBACK
    with Inpainter.load(model, engine, device) as inpainter:
        app = create_app(inpainter, limits, max_batch=max_batch, token=token,
                         allowed_hosts=LOOPBACK_HOSTS if loopback else None)
        where = "this machine only" if loopback else "every machine that can reach this one"
        typer.echo(f"inpaint serve: {inpainter.runner.path.name} on {inpainter.engine} ({inpainter.runner.device}); "
                   f"http://{_url_host(host)}:{port}/ serves {where}", err=True)
        if not loopback and not token:
            typer.echo(f"warning: --host {host} without --token: anyone on the network can use this server; "
                       "pass --token SECRET (and put it behind HTTPS)", err=True)
        config = uvicorn.Config(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=DRAIN_S)
        # uvicorn re-raises the signal that stopped it once it has drained; with a handler of ours in
        # place, that re-raise is a no-op and the command returns 0 (SIGINT keeps Python's: exit 130)
        previous = signal.signal(signal.SIGTERM, _stopped)
        try:
            uvicorn.Server(config).run()
        finally:
            signal.signal(signal.SIGTERM, previous)
    return 0


def _stopped(signum, frame) -> None:
    """SIGTERM after uvicorn drained: nothing left to do."""


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host

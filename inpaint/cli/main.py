"""Entry point: ``inpaint <command>``. User errors -> one line on stderr and exit code 2; unexpected
failures -> one line and exit code 1 (a traceback with ``--debug``)."""

from __future__ import annotations

import logging
import sys

import typer

from inpaint import __version__
from inpaint.cli import bench, convert, doctor, eval, export, mask, run, train
from inpaint.errors import UserError

app = typer.Typer(
    name="inpaint",
    help="Remove objects from photos with MADF / FAR: train, export to ONNX / TensorRT, run.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(train.app, name="train")
app.add_typer(convert.app, name="convert")
app.command("export")(export.export)
app.command("export-texture")(export.export_texture)
app.command("run")(run.run)
app.command("mask")(mask.mask)
app.command("bench")(bench.bench)
app.command("eval")(eval.eval_command)
app.command("doctor")(doctor.doctor)

_DEBUG = {"on": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"inpaint {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of failures."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log more."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    _DEBUG["on"] = debug
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")  # other libraries: warnings only
    logging.getLogger("inpaint").setLevel(logging.DEBUG if verbose else logging.INFO)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by the console script and the tests)."""
    try:
        code = app(args=argv, standalone_mode=False)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001  the one place that turns failures into exit codes
        # Typer's (or click's) own signals: usage errors carry .show(), Exit / Abort carry codes
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return int(exc.exit_code)
        if type(exc).__name__ == "Exit":
            return int(getattr(exc, "exit_code", 0) or 0)
        if type(exc).__name__ == "Abort":
            return 130
        if _DEBUG["on"]:
            raise
        typer.echo(f"failed: {type(exc).__name__}: {exc} (run with --debug for a traceback)", err=True)
        return 1
    # a command may return its exit code (``inpaint run``: 1 when an image failed)
    return code if isinstance(code, int) and not isinstance(code, bool) else 0


def console() -> None:
    sys.exit(main())


if __name__ == "__main__":
    console()

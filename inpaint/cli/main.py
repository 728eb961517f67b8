"""Entry point: ``inpaint <command>``. User errors -> one line on stderr and exit code 2; unexpected
failures -> one line and exit code 1 (a traceback with ``--debug``); a stop signal -> exit 128 + its number
(130 for Ctrl+C / SIGINT, 143 for SIGTERM) after every temporary file is removed.

The global flags ``--debug`` and ``-v`` / ``--verbose`` may come anywhere before ``--``, also after the command
(``inpaint run ... --debug``)."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import typer

from inpaint import __version__
from inpaint.cli import bench, convert, doctor, eval, export, mask, run, serve, train
from inpaint.errors import Interrupted, UserError

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
app.command("serve")(serve.serve)

_DEBUG = {"on": False}


def _command():
    """The click command of :data:`app`, with placeholders a person would type (:mod:`inpaint.cli.help`)."""
    from typer.main import get_command

    from inpaint.cli.help import humanize

    return humanize(get_command(app))


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


#: flags of the root callback that may also be given after the command
_GLOBAL_FLAGS = ("--debug", "--verbose", "-v")


def _global_flags_first(argv: list[str]) -> list[str]:
    """Move :data:`_GLOBAL_FLAGS` in front of the command (click reads them only there); ``--`` ends the search."""
    end = argv.index("--") if "--" in argv else len(argv)
    flags = [a for a in argv[:end] if a in _GLOBAL_FLAGS]
    return flags + [a for a in argv[:end] if a not in _GLOBAL_FLAGS] + argv[end:]


#: the last stop signal's exception: Typer swallows KeyboardInterrupt into a plain exit code 130
_STOPPED: list[Interrupted] = []


def _raise_interrupted(signum, frame) -> None:
    stop = Interrupted(signum)
    _STOPPED.append(stop)
    raise stop


def _interrupted_code(stop: BaseException | None) -> int:
    """Say "interrupted" unless the command already said what it had done; 128 + the signal's number."""
    if not getattr(stop, "reported", False):
        typer.echo("interrupted", err=True)
    return 128 + (stop.signum if isinstance(stop, Interrupted) else signal.SIGINT)


def _stop_signals() -> dict:
    """SIGTERM and SIGINT raise :class:`Interrupted` in the main thread (so ``finally`` blocks remove temporary
    files); returns the previous handlers (none when not on the main thread, where handlers cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, _raise_interrupted) for s in (signal.SIGTERM, signal.SIGINT)}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (used by the console script and the tests)."""
    argv = _global_flags_first(list(sys.argv[1:] if argv is None else argv))
    previous = _stop_signals()
    try:
        return _main(argv)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _main(argv: list[str]) -> int:
    _STOPPED.clear()
    try:
        code = _command().main(args=argv, prog_name="inpaint", standalone_mode=False)
        if _STOPPED:  # Typer returned 130 for it
            return _interrupted_code(_STOPPED[-1])
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except KeyboardInterrupt as exc:
        return _interrupted_code(exc)
    except Exception as exc:  # noqa: BLE001  the one place that turns failures into exit codes
        # Typer's (or click's) own signals: usage errors carry .show(), Exit / Abort carry codes
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return int(exc.exit_code)
        if type(exc).__name__ == "Exit":
            return int(getattr(exc, "exit_code", 0) or 0)
        if type(exc).__name__ == "Abort":  # click's form of KeyboardInterrupt
            return _interrupted_code(_STOPPED[-1] if _STOPPED else exc.__cause__)
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

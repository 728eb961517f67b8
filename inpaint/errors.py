"""Typed errors. The library raises these and never prints or exits; the CLI turns
:class:`UserError` into one line and exit code 2, anything else into exit code 1."""


class InpaintError(Exception):
    """Base class of every error this package raises on purpose."""


class UserError(InpaintError):
    """Bad input from the user (a missing file, a bad argument, an empty folder).

    The message names the file or argument and says how to fix it, in one line.
    """


class MissingDependencyError(UserError):
    """An optional package is not installed; the message names the extra that provides it."""


class CheckpointError(UserError):
    """A checkpoint file is missing, unreadable, or does not fit the model."""


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived (SIGINT from Ctrl+C, SIGTERM from SLURM, Kubernetes or ``timeout``).

    A ``KeyboardInterrupt``, so every ``finally`` on the way out runs (temporary files are removed);
    the CLI exits with 128 + ``signum`` (130 for SIGINT, 143 for SIGTERM), the shells' convention.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

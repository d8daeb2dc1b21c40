"""Exit codes and the user-facing error type shared by every command."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of ``lcad-bench`` (tested per command)."""

    OK = 0
    BUG = 1  # unexpected error: a traceback is printed, please report it
    USAGE = 2  # bad flag, unknown name, bad --model-arg
    MISSING = 3  # missing input file or weights; the message says how to get them
    VERIFY = 4  # checksum or validation failed
    SAMPLES_FAILED = 5  # some samples failed (the run finished and recorded them)


class LcadBenchError(Exception):
    """An error with a message meant for the user (no traceback) and an exit code."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(LcadBenchError):
    """Bad arguments."""

    exit_code = ExitCode.USAGE


class MissingInputError(LcadBenchError):
    """A file, pipeline or weight the command needs is not there."""

    exit_code = ExitCode.MISSING


class InputFormatError(LcadBenchError):
    """An input file exists but is malformed (the message names file and item)."""

    exit_code = ExitCode.VERIFY

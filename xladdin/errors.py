"""Error types shared by the data layer and the CLI, and how the commands report a failure (one message, exit 1)."""
from __future__ import annotations

import os
import sys
from zipfile import BadZipFile


class Note(str):
    """A message for the user, in English (the ``str`` itself: printed, joined and put in JSON as text), that also
    carries its id ``key`` and its ``fields``, so a workbook can say it in its own language
    (:func:`xladdin.workbook.messages.note_text` looks up ``key``). Fields may be notes themselves (a cause)."""

    key: str
    fields: dict

    def __new__(cls, key: str, text: str, **fields: object) -> Note:
        note = super().__new__(cls, text)
        note.key = key
        note.fields = fields
        return note

    def __reduce__(self):  # pickled and copied with its key and fields (a str subclass would lose them)
        return (_note, (self.key, str(self), self.fields))


def _note(key: str, text: str, fields: dict) -> Note:
    return Note(key, text, **fields)


def note_of(exc: BaseException) -> str:
    """The message of ``exc``: its :class:`Note` when it was raised with one, else its text."""
    if exc.args and isinstance(exc.args[0], Note):
        return exc.args[0]
    return format_error(exc)


class ReportedError(Exception):
    """Base of the errors whose message is written for the user (what failed, what to fix): the job's,
    the mail's, the refresh's and the weekly run's. :func:`describe` prints their text as it is."""


class DataError(ValueError):
    """Input data is not in the canonical format; the message says what to fix."""


class ValidationFailed(DataError):
    """Validation found problems; ``issues`` holds one message per problem."""

    def __init__(self, issues: list[str]):
        self.issues = list(issues)
        head = f"{len(self.issues)} problem(s) in the data:\n" + "\n".join(f"  - {m}" for m in self.issues[:50])
        if len(self.issues) > 50:
            head += f"\n  ... and {len(self.issues) - 50} more"
        super().__init__(head)


def format_error(exc: BaseException) -> str:
    """One readable line (or block) for an exception, without KeyError's quoting."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


#: error types whose message is written for the user (it says what to fix); others get their type name
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, KeyError, FileNotFoundError, PermissionError)


def describe(exc: BaseException) -> str:
    """The message for ``exc``: its own text for user errors, ``Type: text`` for anything else."""
    if isinstance(exc, BadZipFile):
        return f"not a workbook (not a valid .xlsx/.xlsm zip file: {exc})"
    if isinstance(exc, USER_ERRORS + (ReportedError,)):
        return format_error(exc)
    return f"{type(exc).__name__}: {format_error(exc)}"


def file_state(path) -> tuple | None:
    """What identifies a file's content on disk (inode, size, mtime), or None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def unchanged_note(path, before: tuple | None) -> str:
    """``<path> was not changed`` / ``was not created`` -- or, if it did change, say so."""
    now = file_state(path)
    if now == before:
        return f"{path} was not changed" if before is not None else f"{path} was not created"
    return f"{path} was written before the failure; check it"


def fail(command: str, message: str, unchanged: str | None = None) -> int:
    """Print ``xladdin <command>: error: <message>`` and what was left unchanged on stderr; return 1."""
    print(f"xladdin {command}: error: {message}", file=sys.stderr)
    if unchanged:
        print(f"xladdin {command}: {unchanged}", file=sys.stderr)
    return 1

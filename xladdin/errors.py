"""Error types shared by the data layer and the CLI."""
from __future__ import annotations


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

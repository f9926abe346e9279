"""The text commands people can type, with the one-line descriptions the help card and the
Teams manifest show. The handler routes the same words; a test keeps the three in step."""

from __future__ import annotations

from collections.abc import Sequence

COMMANDS: Sequence[tuple[str, str]] = (
    ("help", "What tapbot does and what you may do with it."),
    ("request", "Request a Temporary Access Pass for someone who reports to you."),
)

"""The text commands people can type, with the one-line descriptions the help card and the
Teams manifest show: the one list of them. The handler builds its command table from it and
refuses to start if a command here has no handler or a handler is not here
(`commands_table`); tests/unit/test_commands.py keeps manifest, help card and handler in step.
List only commands that work today."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

COMMANDS: Sequence[tuple[str, str]] = (
    ("help", "What tapbot does and what you may do with it."),
    (
        "request",
        "Request a Temporary Access Pass for someone who reports to you (helpdesk: for anyone).",
    ),
    ("team", "Your direct reports and their passes; request or revoke one."),
    ("status", "Your recent pass requests and where each stands; cancel one that waits."),
    ("audit", "Recent audit events: who asked for what, for whom, and why (helpdesk only)."),
)

Handler = TypeVar("Handler")


def commands_table(handlers: Mapping[str, Handler]) -> dict[str, Handler]:
    """*handlers* in `COMMANDS` order; ValueError naming every listed word without a handler
    and every handler whose word is not listed."""
    words = [word for word, _ in COMMANDS]
    missing = [word for word in words if word not in handlers]
    unlisted = [word for word in handlers if word not in words]
    if missing or unlisted:
        raise ValueError(
            f"commands without a handler: {missing or 'none'}; handlers not in COMMANDS: "
            f"{unlisted or 'none'}"
        )
    return {word: handlers[word] for word in words}

"""Text on cards: our own sentences, and text a person must read exactly as it is.

Teams reads a TextBlock's text as Markdown, and its clients do not all honour backslash escapes
(MicrosoftDocs/msteams-docs#5793): an escaped pass can show stray backslashes, and ``*`` or
``_`` in a name can turn into italics. So text that is not ours (a name from the directory, a
reason someone typed, a pass) never goes into a TextBlock. It goes into the TextRuns of a
RichTextBlock, which no client reads as Markdown:

    rich(sentence("Pass issued for ", name(user.display_name), "."))
    rich(typed(secret.reveal()), size="ExtraLarge")  # the pass, alone, in monospace

Our own fixed sentences, with nothing from outside in them, may be TextBlocks (`text`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

# Bidirectional controls could make a name reorder the sentence around it on screen. (Other
# format characters stay: joiners are part of how some scripts spell names.)
_BIDI_CONTROLS = frozenset(
    [
        "\u061c",
        "\u200e",
        "\u200f",
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
    ]
)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Run:
    """A piece of text shown exactly as it is; *monospace* for text a person must type."""

    text: str
    monospace: bool = False


@dataclass(frozen=True, slots=True)
class Sentence:
    """Runs of literal text, shown one after another. ``str()`` gives the plain text."""

    runs: tuple[Run, ...]

    def __str__(self) -> str:
        return "".join(run.text for run in self.runs)


Part = str | Run | Sentence


def name(value: str) -> Run:
    """A name from the directory (or anything else a person chose), on one line, literal.

    Line breaks and runs of spaces become one space; control and bidirectional formatting
    characters are dropped, so a name cannot add lines or turn the sentence around it.
    """
    kept = "".join(
        ch
        for ch in value
        if ch not in _BIDI_CONTROLS and (ch.isspace() or unicodedata.category(ch) != "Cc")
    )
    return Run(_SPACES.sub(" ", kept).strip())


def typed(value: str) -> Run:
    """A value a person must type exactly (a pass, a user name): monospace, unchanged."""
    return Run(value, monospace=True)


def sentence(*parts: Part) -> Sentence:
    """Join *parts* into one sentence; a `str` part is our own text, shown literally too.

    Neighbouring runs of the same style are merged, so the card carries few TextRuns.
    """
    runs: list[Run] = []
    for part in parts:
        pieces = part.runs if isinstance(part, Sentence) else (_as_run(part),)
        for run in pieces:
            if not run.text:
                continue
            if runs and runs[-1].monospace == run.monospace:
                runs[-1] = replace(runs[-1], text=runs[-1].text + run.text)
            else:
                runs.append(run)
    return Sentence(tuple(runs))


def _as_run(part: str | Run) -> Run:
    return part if isinstance(part, Run) else Run(part)


def rich(
    content: Part,
    *,
    size: str | None = None,
    weight: str | None = None,
    color: str | None = None,
    subtle: bool = False,
    **element: Any,
) -> dict[str, Any]:
    """A RichTextBlock showing *content* literally; the style applies to every run.

    *element* adds RichTextBlock properties (``id``, ``spacing``, ``isVisible``…).
    """
    style: dict[str, Any] = {}
    if size:
        style["size"] = size
    if weight:
        style["weight"] = weight
    if color:
        style["color"] = color
    if subtle:
        style["isSubtle"] = True
    inlines = []
    for run in sentence(content).runs:
        inline: dict[str, Any] = {"type": "TextRun", "text": run.text, **style}
        if run.monospace:
            inline["fontType"] = "Monospace"
        inlines.append(inline)
    return {"type": "RichTextBlock", "inlines": inlines, **element}


def text(value: str, **extra: Any) -> dict[str, Any]:
    """A TextBlock for our own fixed text (never for anything that came from outside)."""
    return {"type": "TextBlock", "text": value, "wrap": True, **extra}


def readable_text(card: Mapping[str, Any]) -> str:
    """Everything a person can read on *card*, one element per line (for tests and logs of
    card shapes; a pass card's text includes its pass)."""
    return "\n".join(_readable(card))


def _readable(node: object) -> Iterable[str]:
    if isinstance(node, list):
        for item in node:
            yield from _readable(item)
        return
    if not isinstance(node, Mapping):
        return
    kind = node.get("type")
    if kind == "TextBlock":
        yield str(node.get("text", ""))
    elif kind == "RichTextBlock":
        yield "".join(
            inline if isinstance(inline, str) else str(inline.get("text", ""))
            for inline in node.get("inlines", [])
        )
    elif kind == "FactSet":
        for fact in node.get("facts", []):
            yield f"{fact.get('title', '')}: {fact.get('value', '')}"
    else:
        for key in ("title", "label"):
            if isinstance(node.get(key), str):
                yield node[key]
    for key in ("body", "items", "columns", "actions", "choices", "card"):
        yield from _readable(node.get(key))

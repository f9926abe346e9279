"""The helpdesk's request card: find a person anywhere in the tenant, then fill in their pass.

Step one searches (a search box and a button, which works in every Teams client and the Agents
Playground; where Teams supports it, a typeahead list that asks the bot as you type); step two
is `details_card` for the person picked, which a manager reaches too, from the list of their
reports (`cards.request.request_form_card`). Names go into RichTextBlock TextRuns or choice titles
(which Teams shows as plain text, never Markdown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cards import card, execute
from cards.request import DETAILS, SEARCH, SUBMIT, DeliveryChoices, PassInputs, details_inputs
from cards.text import name, rich, sentence, text

# The dataset a typeahead ChoiceSet asks the bot about (an ``application/search`` invoke).
PEOPLE_DATASET = "tapbot.people"
MAX_RESULTS = 25


@dataclass(frozen=True, slots=True)
class PersonChoice:
    """A person found by a search; *note* says what stands out (disabled, guest)."""

    user_id: str
    name: str
    detail: str = ""
    note: str = ""

    @property
    def title(self) -> str:
        label = name(self.name).text
        if self.detail:
            label += f" — {name(self.detail).text}"
        if self.note:
            label += f" ({self.note})"
        return label


@dataclass(frozen=True, slots=True)
class SearchView:
    """Step one: the last query and what it found (*results* is None before any search)."""

    query: str = ""
    results: Sequence[PersonChoice] | None = None
    notice: str = ""


def search_card(view: SearchView) -> dict[str, Any]:
    """Find the person who needs a pass: search box, results, Next."""
    body: list[dict[str, Any]] = [
        text("Request a Temporary Access Pass", size="Medium", weight="Bolder"),
        text(
            "As a helpdesk member you can ask for anyone eligible; another helpdesk member "
            "approves before the pass is issued."
        ),
    ]
    if view.notice:
        body.append(rich(view.notice, color="Attention"))
    if view.results is None:
        # Where Teams supports it, this list asks the bot as the person types; elsewhere
        # (and in the Agents Playground) the search box below does the same on a click.
        people: dict[str, Any] = {
            "style": "filtered",
            "choices": [],
            "choices.data": {"type": "Data.Query", "dataset": PEOPLE_DATASET, "count": 15},
            "placeholder": "Start typing a name",
        }
    elif view.results:
        shown = (
            f"{len(view.results)} found."
            if len(view.results) < MAX_RESULTS
            else f"The first {MAX_RESULTS} shown: type more of the name to narrow it."
        )
        body.append(text(shown, isSubtle=True, size="Small"))
        people = {
            "choices": [{"title": p.title, "value": p.user_id} for p in view.results],
            **({"value": view.results[0].user_id} if len(view.results) == 1 else {}),
        }
    else:
        body.append(rich(sentence("Nobody matches ", name(view.query), ". Try another spelling.")))
        people = {}
    if people:
        # Not required: the same card's Search button must work before anyone is chosen.
        body.append(
            {"type": "Input.ChoiceSet", "id": "target", "label": "Who needs the pass?", **people}
        )
    body.append(
        {
            "type": "Input.Text",
            "id": "query",
            "label": "Or search (name, user name or email)",
            "placeholder": "e.g. Liam or liam.carter@",
            "maxLength": 100,
            "value": view.query,
        }
    )
    actions = [execute("Search", SEARCH, {})]
    if people:
        actions.insert(0, execute("Next", DETAILS, {}, style="positive"))
    return card(body, actions)


def typeahead_choices(results: Sequence[PersonChoice]) -> list[dict[str, str]]:
    """An ``application/search`` answer's results: at most 15 are shown by Teams."""
    return [{"title": p.title, "value": p.user_id} for p in results[:MAX_RESULTS]]


@dataclass(frozen=True, slots=True)
class DetailsView:
    """Step two, for a manager and the helpdesk alike: the choices for one person's pass.

    *deliveries* are the ways that work for this person (destinations masked). *values*
    pre-fill the inputs when the card is shown again with a *notice* about what to fix.
    """

    form_id: str
    target_id: str
    target_name: str
    target_detail: str
    lifetimes: Sequence[int]
    default_lifetime: int
    one_time_forced: bool
    deliveries: DeliveryChoices
    timezone: str
    approval_note: str = ""
    notice: str = ""
    values: Mapping[str, str] = field(default_factory=dict)


def details_card(view: DetailsView) -> dict[str, Any]:
    """The pass for one person: length, one-time use, start, delivery, why; then Request."""
    heading = sentence("Temporary Access Pass for ", name(view.target_name))
    body: list[dict[str, Any]] = [rich(heading, size="Medium", weight="Bolder")]
    if view.target_detail:
        body.append(rich(name(view.target_detail), subtle=True, spacing="None"))
    if view.notice:
        body.append(rich(view.notice, color="Attention"))
    if not view.lifetimes:
        body.append(text("No pass length fits the pass policy, so no pass can be issued."))
        return card(body)
    body += details_inputs(
        PassInputs(
            lifetimes=view.lifetimes,
            default_lifetime=view.default_lifetime,
            one_time_forced=view.one_time_forced,
            deliveries=view.deliveries,
            timezone=view.timezone,
            values=view.values,
        )
    )
    if view.approval_note:
        body.append(text(view.approval_note, isSubtle=True))
    data = {"form_id": view.form_id, "target": view.target_id}
    if view.one_time_forced:
        data["one_time"] = "true"
    title = "Ask for approval" if view.approval_note else "Request pass"
    return card(body, [execute(title, SUBMIT, data, style="positive")])

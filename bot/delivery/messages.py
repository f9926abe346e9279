"""The words of a pass's text message and of the notice that a pass was issued.

A text message carries the pass alone on its own line, its validity, who asked for it and
whom to call if it was not expected: no links, and nothing from outside (a name) that a phone
would turn into one. Names from the directory go through `without_links`; the pass is never
changed. Pure functions: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.model import DeliveryMethod

# What a phone or mail client would turn into a link: web and mail addresses, domains, and
# runs of 7 or more digits (with the separators people write between them).
LINK_SHAPED = re.compile(r"(?i)://|www\.|@|\b[a-z0-9-]+\.[a-z]{2,}\b|\+?\d(?:[\s().-]*\d){6,}")
_SPACES = re.compile(r"\s+")


def without_links(text: str) -> str:
    """*text* (a name, on one line) with every link-shaped part replaced by ``(link removed)``,
    so no client can make it a link. Ordinary names are returned unchanged."""
    one_line = _SPACES.sub(" ", "".join(ch for ch in text if ch.isprintable() or ch.isspace()))
    return LINK_SHAPED.sub("(link removed)", one_line).strip()


@dataclass(frozen=True, slots=True)
class PassFacts:
    """What the messages say about a pass, everything but its value.

    *first_name* is the person's given name (or display name); *requested_by* the requester's
    display name; *contact* whom to call if the pass was not expected (HELPDESK_CONTACT).
    """

    first_name: str
    requested_by: str
    starts: datetime
    ends: datetime
    one_time: bool
    timezone: ZoneInfo
    contact: str
    issued_at: datetime | None = None


def moment(value: datetime, timezone: ZoneInfo) -> str:
    """``Wed 1 Jul 14:30`` in *timezone* (the zone is named once by the caller)."""
    local = value.astimezone(timezone)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def validity(facts: PassFacts, *, now: datetime) -> str:
    """``valid until Wed 1 Jul 15:30 (Europe/London)``, with ``from …`` when it starts later."""
    zone = facts.timezone.key
    until = moment(facts.ends, facts.timezone)
    if facts.starts > now:
        return f"valid from {moment(facts.starts, facts.timezone)} until {until} ({zone})"
    return f"valid until {until} ({zone})"


def sms_text(value: str, facts: PassFacts, *, now: datetime) -> str:
    """The text message carrying pass *value*: the pass alone on its own line."""
    use = "for one sign-in only" if facts.one_time else "for any number of sign-ins"
    return (
        f"{without_links(facts.first_name)}, your Temporary Access Pass is:\n"
        "\n"
        f"{value}\n"
        "\n"
        f"It is {validity(facts, now=now)}, {use}. Requested by "
        f"{without_links(facts.requested_by)}. Never share it. Not expecting it? Call "
        f"{facts.contact}."
    )


def went_to(method: DeliveryMethod, *, requested_by: str, destination: str) -> str:
    """Where a pass went, as a notice says it: ``to Olivia Bennett in Teams``."""
    match method:
        case DeliveryMethod.CHAT_TO_REQUESTER:
            return f"to {without_links(requested_by)} in Teams"
        case DeliveryMethod.CHAT_TO_TARGET:
            return "to you in Teams"
        case DeliveryMethod.SMS:
            return f"by text message to {destination}" if destination else "by text message"
        case DeliveryMethod.EMAIL:
            # An address, even masked, is link-shaped: a text message must not carry it.
            return "by email"


def notice_text(facts: PassFacts, method: DeliveryMethod, destination: str) -> str:
    """The notice that a pass was issued for the person: when, for whom it was asked, where
    it went, and whom to call if they did not expect it. It never holds the pass."""
    issued = facts.issued_at or facts.starts
    where = went_to(method, requested_by=facts.requested_by, destination=destination)
    return (
        f"{without_links(facts.first_name)}, a Temporary Access Pass for your account was "
        f"issued on {moment(issued, facts.timezone)} ({facts.timezone.key}) at the request of "
        f"{without_links(facts.requested_by)} and sent {where}. If you did not expect it, "
        f"call {facts.contact} at once."
    )

"""The pass email and the notice email, rendered from Jinja2 templates with autoescape.

Seed 002's email is the model: a greeting, the start date for a joiner, the user name, the
pass, valid until, one-time or not, who asked, whom to contact. Everything from the directory
is escaped by Jinja2 and, being untrusted, has link-shaped parts removed (`without_links`), so
a display name cannot become HTML, Markdown or a link. The pass stands alone in a ``<code>``
element (monospace); Entra's pass alphabet has no ``.``, ``@`` or ``/`` a client could link.

HTML only: Graph's sendMail takes one body, ``Text`` or ``HTML``, in its JSON form. A
multipart text alternative needs the MIME form of sendMail, which cannot turn off
``saveToSentItems``, and a copy of the pass would stay in the sender's Sent Items.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.delivery.messages import PassFacts, went_to, without_links
from bot.domain.model import DeliveryMethod, DirectoryUser, MailMessage

PASS_SUBJECT = "Your Temporary Access Pass"  # noqa: S105  # a subject, not a secret
NOTICE_SUBJECT = "A Temporary Access Pass was issued for your account"


def long_day(value: datetime, timezone: ZoneInfo) -> str:
    """``Monday 16 June 2025`` in *timezone*."""
    local = value.astimezone(timezone)
    return f"{local:%A} {local.day} {local:%B %Y}"


def long_moment(value: datetime, timezone: ZoneInfo) -> str:
    """``Monday 16 June 2025 at 09:00 (Europe/London)``."""
    local = value.astimezone(timezone)
    return f"{long_day(value, timezone)} at {local:%H:%M} ({timezone.key})"


class EmailComposer:
    """Builds `MailMessage`s from mailbox *sender*; dates are shown in *timezone*."""

    def __init__(self, *, sender: str, timezone: ZoneInfo) -> None:
        self._sender = sender
        self._timezone = timezone
        self._templates = Environment(
            loader=PackageLoader("bot.delivery", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def pass_message(
        self,
        *,
        to: str,
        cc: tuple[str, ...],
        person: DirectoryUser,
        value: str,
        facts: PassFacts,
        manager_name: str | None,
        now: datetime,
    ) -> MailMessage:
        """The email carrying pass *value* to *person* at *to* (the manager, when named, is in
        *cc*). A hire date still ahead is greeted as a start date."""
        zone = self._timezone
        hired = person.employee_hire_date
        html = self._templates.get_template("pass_email.html.j2").render(
            first_name=without_links(facts.first_name),
            start_date=long_day(hired, zone) if hired and hired > now else "",
            username=person.user_principal_name,
            pass_value=value,
            valid_from=long_moment(facts.starts, zone) if facts.starts > now else "",
            valid_until=long_moment(facts.ends, zone),
            one_time=facts.one_time,
            requested_by=without_links(facts.requested_by),
            manager_name=without_links(manager_name) if manager_name and cc else "",
            contact=facts.contact,
        )
        return MailMessage(self._sender, (to,), PASS_SUBJECT, html, cc)

    def notice_message(
        self,
        *,
        to: str,
        person: DirectoryUser,
        facts: PassFacts,
        method: DeliveryMethod,
        destination: str,
    ) -> MailMessage:
        """The email telling *person* that a pass was issued and sent by *method*."""
        html = self._templates.get_template("notice_email.html.j2").render(
            first_name=without_links(facts.first_name),
            username=person.user_principal_name,
            issued=long_moment(facts.issued_at or facts.starts, self._timezone),
            requested_by=without_links(facts.requested_by),
            went_to=went_to(method, requested_by=facts.requested_by, destination=destination),
            contact=facts.contact,
        )
        return MailMessage(self._sender, (to,), NOTICE_SUBJECT, html)

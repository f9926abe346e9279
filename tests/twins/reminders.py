"""`FakeReminders`: the `JoinerReminders` port in memory, for unit tests.

It keeps every reminder put in front of someone (`sent`). Make a manager unreachable with
`unreachable`, remove the helpdesk channel with `helpdesk_channel = False`, or make the next
send fail after it may have arrived with `fail_after_sending`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.errors import ReminderUndeliverable
from bot.domain.joiners import Recipient, Reminder, ReminderReceipt


@dataclass(frozen=True, slots=True)
class Sent:
    recipient: Recipient
    reminder: Reminder
    activity_id: str


class FakeReminders:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.unreachable: set[str] = set()
        self.helpdesk_channel = True
        self.fail_after_sending = False

    def to(self, recipient: Recipient) -> list[str]:
        """The joiner names reminded to *recipient*, in order."""
        return [s.reminder.joiner_name for s in self.sent if s.recipient is recipient]

    async def to_manager(self, reminder: Reminder) -> ReminderReceipt:
        assert reminder.manager is not None
        if self.fail_after_sending:
            self.fail_after_sending = False
            raise ReminderUndeliverable("connection_lost", maybe_sent=True)
        if reminder.manager.id in self.unreachable:
            raise ReminderUndeliverable("no_chat")
        return self._keep(Recipient.MANAGER, reminder, f"user:{reminder.manager.id}")

    async def to_helpdesk(self, reminder: Reminder) -> ReminderReceipt:
        if not self.helpdesk_channel:
            raise ReminderUndeliverable("no_helpdesk_channel")
        return self._keep(Recipient.HELPDESK, reminder, "channel:19:helpdesk")

    def _keep(self, recipient: Recipient, reminder: Reminder, key: str) -> ReminderReceipt:
        activity_id = f"activity-{len(self.sent) + 1}"
        self.sent.append(Sent(recipient, reminder, activity_id))
        return ReminderReceipt(recipient, key, activity_id)

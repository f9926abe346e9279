"""`FakeDelivery`: the `PassDelivery` port in memory, for unit tests.

It keeps what a recipient would see (the pass value included, so tests can prove it arrived
and went nowhere else), the redactions made and the notices sent. `fail_with` makes the next
deliveries raise DeliveryFailed; `unreachable` makes notices fail; `undeliverable` is what
`cannot_deliver` answers (None: every method reaches the person); `destination` is what
receipts say the pass went to; `asked` lists the requests `cannot_deliver` was asked about.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.errors import DeliveryFailed
from bot.domain.model import DeliveryReceipt, IssuedPass, ScheduledEdit, TapRequest


@dataclass(frozen=True, slots=True)
class Delivered:
    request_id: str
    to: str
    value: str
    activity_id: str


class FakeDelivery:
    def __init__(self) -> None:
        self.delivered: list[Delivered] = []
        self.redacted: list[ScheduledEdit] = []
        self.notices: list[tuple[str, str]] = []
        self.failure: str | None = None
        self.unreachable = False
        self.undeliverable: str | None = None
        self.destination = ""
        self.asked: list[TapRequest] = []

    def fail_with(self, reason: str | None) -> None:
        self.failure = reason

    async def cannot_deliver(self, request: TapRequest) -> str | None:
        self.asked.append(request)
        return self.undeliverable

    async def deliver(self, request: TapRequest, issued: IssuedPass) -> DeliveryReceipt:
        if self.failure is not None:
            raise DeliveryFailed(self.failure)
        activity_id = f"activity-{len(self.delivered) + 1}"
        self.delivered.append(
            Delivered(request.id, request.requester_id, issued.secret.reveal(), activity_id)
        )
        return DeliveryReceipt(
            request.delivery,
            conversation_key=f"user:{request.requester_id}",
            activity_id=activity_id,
            destination=self.destination,
        )

    async def redact(self, edit: ScheduledEdit) -> None:
        self.redacted.append(edit)

    async def notify(self, user_id: str, text: str) -> bool:
        if self.unreachable:
            return False
        self.notices.append((user_id, text))
        return True

"""`DeliveryRouter`: the domain's `PassDelivery` port over every delivery channel.

It picks the channel by ``request.delivery``, audits what happened with the provider's receipt
(Twilio's sid, ACS's message id; never the pass), and then, when notices are configured, tells
the person through another method that a pass was issued, by whom, and whom to call if they
did not expect it. A notice that fails is audited and never fails the delivery.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import structlog

from bot.delivery.channels import NoticeChannel, Parcel, PassChannel, Recipient
from bot.delivery.ports import TeamsChat
from bot.delivery.sms import SmsFailed
from bot.domain.audit import Auditor
from bot.domain.delivery_options import ChatReach
from bot.domain.errors import DeliveryFailed, DirectoryError, StoreError
from bot.domain.model import (
    DeliveryMethod,
    DeliveryReceipt,
    IssuedPass,
    ScheduledEdit,
    TapRequest,
)
from bot.domain.ports import Clock, Directory, Store
from cards.delivery import notice_card, own_redacted_pass_card
from cards.request import redacted_pass_card, when

log = structlog.get_logger(__name__)

METHOD_WORDS = {
    DeliveryMethod.CHAT_TO_REQUESTER: "delivery in your chat",
    DeliveryMethod.CHAT_TO_TARGET: "delivery in the person's own Teams chat",
    DeliveryMethod.SMS: "delivery by text message",
    DeliveryMethod.EMAIL: "delivery by email",
}


class DeliveryRouter:
    """`PassDelivery` over *channels* (one per method; methods without one are refused).

    *notices* are the channels that may carry the notice, in order of preference; the first
    that is not the pass's own method and can reach the person is used, the next one if it
    fails. *chat* edits and notifies in Teams; *store* finds a request when its message is
    redacted.
    """

    def __init__(
        self,
        *,
        channels: Iterable[PassChannel],
        chat: TeamsChat,
        directory: Directory,
        store: Store,
        auditor: Auditor,
        clock: Clock,
        timezone: ZoneInfo,
        notices: Sequence[NoticeChannel] = (),
        teams_app_id: str = "",
    ) -> None:
        self._channels: Mapping[DeliveryMethod, PassChannel] = {c.method: c for c in channels}
        self._chat = chat
        self._directory = directory
        self._store = store
        self._audit = auditor
        self._clock = clock
        self._timezone = timezone
        self._notices = tuple(notices)
        self._app_id = teams_app_id

    async def chat_reach(self, user_id: str) -> ChatReach:
        """What tapbot knows about reaching *user_id* in Teams, for `delivery_options`: a
        stored conversation, else whether its app is installed for them (None when Graph
        could not tell). One Graph call at most."""
        if await self._chat.has_conversation(user_id):
            return ChatReach(has_conversation=True, app_installed=None)
        if not self._app_id:
            return ChatReach(app_installed=False)
        try:
            installed = await self._directory.is_app_installed_for(user_id, self._app_id)
        except DirectoryError:
            return ChatReach(app_installed=None)
        return ChatReach(app_installed=installed)

    async def cannot_deliver(self, request: TapRequest) -> str | None:
        """Why ``request.delivery`` cannot reach the person now, or None (sends nothing)."""
        channel = self._channels.get(request.delivery)
        if channel is None:
            return f"{METHOD_WORDS[request.delivery]} is not set up here"
        try:
            return await channel.why_not(Recipient(request, self._directory))
        except DeliveryFailed as failure:
            return failure.reason

    async def deliver(self, request: TapRequest, issued: IssuedPass) -> DeliveryReceipt:
        """Deliver by ``request.delivery``; raise DeliveryFailed (audited) when it cannot be."""
        channel = self._channels.get(request.delivery)
        if channel is None:
            failure = DeliveryFailed(f"{METHOD_WORDS[request.delivery]} is not set up here")
            await self._failed(request, failure)
            raise failure
        parcel = Parcel(request, issued, self._directory, self._clock)
        try:
            receipt = await channel.deliver(parcel)
        except DeliveryFailed as failure:
            await self._failed(request, failure)
            raise
        await self._audit.record(
            "delivery",
            "sent",
            actor_id=request.requester_id,
            target_id=request.target_id,
            request_id=request.id,
            detail=_receipt_detail(receipt),
        )
        await self._notice(parcel, receipt)
        return receipt

    async def redact(self, edit: ScheduledEdit) -> None:
        """Replace a delivered pass's message with one that no longer shows the pass."""
        ends = when(_ends_at(edit), self._timezone)
        request = await self._store.get_request(str(edit.payload.get("request_id", "")))
        if request is not None and request.delivery is DeliveryMethod.CHAT_TO_TARGET:
            card = own_redacted_pass_card(ends=ends)
        else:
            card = redacted_pass_card(
                target_name=str(edit.payload.get("target_name", "")), ends=ends
            )
        await self._chat.update_card(edit.conversation_key, edit.activity_id, card)

    async def notify(self, user_id: str, text: str) -> bool:
        """Tell *user_id* *text* in their 1:1 chat (shown literally); False when unreachable."""
        try:
            await self._chat.send_card(f"user:{user_id}", notice_card(text))
        except DeliveryFailed:
            return False
        return True

    async def _notice(self, parcel: Parcel, delivered: DeliveryReceipt) -> None:
        request = parcel.request
        tried = False
        for channel in self._notices:
            if channel.method is delivered.method:
                continue
            try:
                if not await channel.available_for(parcel):
                    continue
                tried = True
                receipt = await channel.send_notice(parcel, delivered)
            except DeliveryFailed as failure:
                await self._notice_audit(request, "failed", channel.method, failure.reason)
                continue
            except Exception as exc:  # a notice must never undo a delivered pass
                log.warning("notice failed", method=channel.method, error_type=type(exc).__name__)
                await self._notice_audit(request, "failed", channel.method, type(exc).__name__)
                continue
            await self._notice_audit(request, "sent", channel.method, "", receipt)
            return
        if self._notices and not tried:
            await self._notice_audit(request, "skipped", None, "no other method reaches them")

    async def _notice_audit(
        self,
        request: TapRequest,
        outcome: str,
        method: DeliveryMethod | None,
        reason: str,
        receipt: DeliveryReceipt | None = None,
    ) -> None:
        detail = _receipt_detail(receipt) if receipt else {}
        if method is not None:
            detail["method"] = method.value
        if reason:
            detail["why"] = reason
        try:
            await self._audit.record(
                "notice",
                outcome,
                actor_id=request.requester_id,
                target_id=request.target_id,
                request_id=request.id,
                detail=detail,
            )
        except StoreError:  # the pass is delivered; losing a notice's audit must not undo it
            log.error("notice audit failed", request_id=request.id, outcome=outcome)

    async def _failed(self, request: TapRequest, failure: DeliveryFailed) -> None:
        detail = {"method": request.delivery.value, "why": failure.reason}
        if isinstance(failure, SmsFailed):
            detail |= {"provider": failure.provider, "code": failure.code}
        await self._audit.record(
            "delivery",
            "failed",
            actor_id=request.requester_id,
            target_id=request.target_id,
            request_id=request.id,
            reason="delivery_failed",
            detail=detail,
        )


def _receipt_detail(receipt: DeliveryReceipt) -> dict[str, str]:
    detail = {"method": receipt.method.value, "provider": receipt.provider}
    if receipt.reference:
        detail["receipt"] = receipt.reference
    if receipt.destination:
        detail["to"] = receipt.destination
    return detail


def _ends_at(edit: ScheduledEdit) -> datetime:
    return datetime.fromisoformat(str(edit.payload.get("ends_at")))

"""DeliveryRouter over the twins: each method, receipts in the audit, notices, redaction."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.delivery.router import DeliveryRouter
from bot.delivery.sms import SmsFailed
from bot.delivery.wiring import build_delivery
from bot.domain.audit import Auditor
from bot.domain.delivery_options import ChatReach
from bot.domain.errors import DeliveryFailed, DirectoryAccessDenied, DirectoryUnavailable
from bot.domain.model import (
    ApproverKind,
    AuditEvent,
    DeliveryMethod,
    IssuedPass,
    PassInfo,
    PassSecret,
    RequestKind,
    RequestState,
    ScheduledEdit,
    Stage,
    TapRequest,
)
from cards.text import readable_text
from tests.twins.clock import ManualClock
from tests.twins.directory import FakeDirectory, person
from tests.twins.sms import FakeSms
from tests.twins.store import MemoryStore
from tests.twins.teams_chat import FakeTeamsChat

PASS = "Ab3$xY+!"
APP_ID = "6d8a1f3c-2e9b-4c7a-b5d4-1a3e5c7f9b22"
OLIVIA = person("Olivia Bennett")
LIAM = person(
    "Liam Carter",
    mobile_phone="07911 123456",
    other_mails=("liam.carter.home@example.net",),
)
BASE = {
    "GRAPH_TENANT_ID": "4f6a9c2e-7b1d-4e8a-9c3f-2d5e8a1b7c40",
    "GRAPH_CLIENT_ID": "0c7e2f9a-3b6d-4a1e-8f5c-9d2b4e6a8c11",
    "GRAPH_CLIENT_SECRET": "s",
    "TIMEZONE": "Europe/London",
    "MAIL_SENDER": "tapbot@contoso.example",
    "TEAMS_APP_ID": APP_ID,
    "SMS_PROVIDER": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM": "+15005550006",
    "SMS_DEFAULT_REGION": "GB",
    "HELPDESK_CONTACT": "the service desk, extension 4000",
}


class Rig:
    def __init__(self, **settings: str) -> None:
        self.clock = ManualClock()
        self.directory = FakeDirectory(self.clock)
        self.directory.add_user(OLIVIA)
        self.directory.add_user(
            person("tapbot Notifications", user_principal_name="tapbot@contoso.example")
        )
        self.directory.add_user(LIAM, manager_id=OLIVIA.id)
        self.store = MemoryStore()
        self.chat = FakeTeamsChat(conversations={OLIVIA.id})
        self.sms = FakeSms("twilio")
        self.router: DeliveryRouter = build_delivery(
            Settings.from_env(BASE | settings),
            chat=self.chat,
            directory=self.directory,
            mailer=self.directory,
            sms=self.sms,
            store=self.store,
            auditor=Auditor(self.store, self.clock),
            clock=self.clock,
        )

    def request(self, method: DeliveryMethod) -> TapRequest:
        now = self.clock.now()
        return TapRequest(
            id=f"request-{method.value}",
            requester_id=OLIVIA.id,
            requester_name=OLIVIA.display_name,
            target_id=LIAM.id,
            target_name=LIAM.display_name,
            lifetime_minutes=60,
            is_usable_once=True,
            start_at=None,
            delivery=method,
            justification="Lost phone",
            state=RequestState.DELIVERED,  # only looked up by redaction here
            created_at=now,
            updated_at=now,
        )

    def issued(self) -> IssuedPass:
        now = self.clock.now()
        info = PassInfo("pass-1", LIAM.id, now, now, 60, True, True)
        return IssuedPass(info, PassSecret(PASS))

    async def deliver(self, method: DeliveryMethod) -> Any:
        request = self.request(method)
        await self.store.add_request(request)
        return await self.router.deliver(request, self.issued())

    async def audit(self) -> list[AuditEvent]:
        events = await self.store.list_audit()
        assert PASS not in json.dumps([e.__repr__() for e in events])
        return list(reversed(events))


def _runs(card: object) -> list[str]:
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextRun":
                found.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


async def test_chat_to_the_requester_puts_the_pass_card_in_their_chat() -> None:
    rig = Rig()
    receipt = await rig.deliver(DeliveryMethod.CHAT_TO_REQUESTER)
    [card] = rig.chat.cards_to(OLIVIA.id)
    assert PASS in _runs(card)
    assert "Temporary Access Pass for Liam Carter" in readable_text(card)
    assert (receipt.conversation_key, receipt.activity_id) == (f"user:{OLIVIA.id}", "activity-1")
    [sent] = await rig.audit()
    assert (sent.action, sent.outcome) == ("delivery", "sent")
    assert sent.detail == {"method": "chat_requester", "provider": "teams", "receipt": "activity-1"}


async def test_chat_to_a_requester_without_a_chat_says_so() -> None:
    rig = Rig()
    rig.chat.conversations.clear()
    with pytest.raises(DeliveryFailed, match="I have no chat with you"):
        await rig.deliver(DeliveryMethod.CHAT_TO_REQUESTER)


async def test_chat_to_the_target_uses_their_stored_chat() -> None:
    rig = Rig()
    rig.chat.conversations[f"user:{LIAM.id}"] = "a:liam"
    receipt = await rig.deliver(DeliveryMethod.CHAT_TO_TARGET)
    [card] = rig.chat.cards_to(LIAM.id)
    assert PASS in _runs(card)
    assert LIAM.user_principal_name in _runs(card)
    assert "Olivia Bennett asked for this pass" in readable_text(card)
    assert receipt.conversation_key == f"user:{LIAM.id}"
    assert rig.directory.called("install_app_for") == 0


async def test_chat_to_the_target_installs_the_app_and_opens_its_chat() -> None:
    rig = Rig()
    await rig.deliver(DeliveryMethod.CHAT_TO_TARGET)
    assert (LIAM.id, APP_ID) in rig.directory.installed_apps
    assert rig.chat.conversations[f"user:{LIAM.id}"] == f"19:{APP_ID}_{LIAM.id}@unq.gbl.spaces"
    assert len(rig.chat.cards_to(LIAM.id)) == 1


async def test_chat_to_the_target_without_permission_to_install_fails_in_words() -> None:
    rig = Rig(TEAMS_INSTALL_FOR_TARGET="false")
    with pytest.raises(DeliveryFailed, match="tapbot is not installed in Teams for Liam Carter"):
        await rig.deliver(DeliveryMethod.CHAT_TO_TARGET)
    rig2 = Rig()
    rig2.directory.fail("install_app_for", DirectoryAccessDenied("403", status=403))
    with pytest.raises(DeliveryFailed, match="not allowed to install itself"):
        await rig2.deliver(DeliveryMethod.CHAT_TO_TARGET)
    [failed] = await rig2.audit()
    assert (failed.action, failed.outcome, failed.reason) == (
        "delivery",
        "failed",
        "delivery_failed",
    )


async def test_sms_goes_to_the_directory_mobile_in_e164_with_the_pass_on_its_own_line() -> None:
    rig = Rig()
    receipt = await rig.deliver(DeliveryMethod.SMS)
    [text] = rig.sms.sent
    assert text.to == "+447911123456"
    assert PASS in text.text.split("\n")
    assert "Requested by Olivia Bennett" in text.text
    assert (receipt.provider, receipt.reference, receipt.destination) == (
        "twilio",
        text.reference,
        "+44 •••• ••34 56",
    )
    [sent] = await rig.audit()
    assert sent.detail == {
        "method": "sms",
        "provider": "twilio",
        "receipt": text.reference,
        "to": "+44 •••• ••34 56",
    }


async def test_sms_to_a_mobile_that_cannot_take_one_is_refused_before_sending() -> None:
    rig = Rig()
    rig.directory.users[LIAM.id] = person("Liam Carter", id=LIAM.id, mobile_phone="020 7946 0111")
    with pytest.raises(DeliveryFailed, match="landline or service number"):
        await rig.deliver(DeliveryMethod.SMS)
    assert rig.sms.sent == []


async def test_a_provider_failure_is_audited_with_its_code() -> None:
    rig = Rig()
    rig.sms.fail_with(SmsFailed("Twilio could not send it: STOP", provider="twilio", code="21610"))
    with pytest.raises(DeliveryFailed, match="STOP"):
        await rig.deliver(DeliveryMethod.SMS)
    [failed] = await rig.audit()
    assert failed.detail == {
        "method": "sms",
        "why": "Twilio could not send it: STOP",
        "provider": "twilio",
        "code": "21610",
    }


async def test_email_goes_to_the_personal_address_with_the_manager_in_copy() -> None:
    rig = Rig()
    receipt = await rig.deliver(DeliveryMethod.EMAIL)
    [mail] = rig.directory.sent_mail
    assert (mail.sender, mail.to, mail.cc) == (
        "tapbot@contoso.example",
        ("liam.carter.home@example.net",),
        (OLIVIA.mail,),
    )
    assert f">{PASS}</code>" in mail.html_body
    assert (receipt.provider, receipt.reference, receipt.destination) == (
        "graph",
        "",
        "l•••@example.net",
    )


async def test_email_to_the_work_address_without_copy() -> None:
    rig = Rig(MAIL_TO="work", MAIL_CC_MANAGER="false")
    await rig.deliver(DeliveryMethod.EMAIL)
    [mail] = rig.directory.sent_mail
    assert (mail.to, mail.cc) == ((LIAM.mail,), ())


async def test_email_without_an_address_or_mailbox_fails_in_words() -> None:
    rig = Rig()
    rig.directory.users[LIAM.id] = person("Liam Carter", id=LIAM.id)
    with pytest.raises(DeliveryFailed, match="no personal email address for Liam Carter"):
        await rig.deliver(DeliveryMethod.EMAIL)
    rig2 = Rig(MAIL_SENDER="nobody@contoso.example")
    with pytest.raises(DeliveryFailed, match=r"sending mailbox \(MAIL_SENDER\) does not exist"):
        await rig2.deliver(DeliveryMethod.EMAIL)


async def test_a_target_the_directory_cannot_read_fails_in_words() -> None:
    rig = Rig()
    rig.directory.fail("get_user", DirectoryUnavailable("down", status=503))
    with pytest.raises(DeliveryFailed, match="couldn't read Liam Carter's details"):
        await rig.deliver(DeliveryMethod.SMS)


async def test_a_method_that_is_not_set_up_is_refused() -> None:
    rig = Rig()
    router = build_delivery(
        Settings.from_env({k: v for k, v in BASE.items() if k != "MAIL_SENDER"}),
        chat=rig.chat,
        directory=rig.directory,
        mailer=rig.directory,
        sms=None,
        store=rig.store,
        auditor=Auditor(rig.store, rig.clock),
        clock=rig.clock,
    )
    for method, words in (
        (DeliveryMethod.SMS, "delivery by text message is not set up here"),
        (DeliveryMethod.EMAIL, "delivery by email is not set up here"),
    ):
        with pytest.raises(DeliveryFailed, match=words):
            await router.deliver(rig.request(method), rig.issued())


async def test_the_notice_goes_by_the_first_other_method_that_reaches_the_person() -> None:
    rig = Rig(NOTICE_METHODS="sms,email")
    await rig.deliver(DeliveryMethod.CHAT_TO_REQUESTER)
    [notice] = rig.sms.sent
    assert PASS not in notice.text
    assert "at the request of Olivia Bennett and sent to Olivia Bennett in Teams" in notice.text
    assert "call the service desk, extension 4000 at once" in notice.text
    assert rig.directory.sent_mail == []
    _sent, noticed = await rig.audit()
    assert (noticed.action, noticed.outcome) == ("notice", "sent")
    assert noticed.detail["method"] == "sms"


async def test_the_notice_never_uses_the_passs_own_method() -> None:
    rig = Rig(NOTICE_METHODS="sms,email")
    await rig.deliver(DeliveryMethod.SMS)
    assert len(rig.sms.sent) == 1
    [mail] = rig.directory.sent_mail
    assert PASS not in mail.html_body
    assert "by text message to +44 •••• ••34 56" in mail.html_body


async def test_a_failed_notice_falls_back_and_never_fails_the_delivery() -> None:
    rig = Rig(NOTICE_METHODS="sms,email")
    rig.sms.fail_with(SmsFailed("Twilio could not send it", provider="twilio"))
    rig.directory.fail("send_mail", DirectoryUnavailable("down", status=503))
    receipt = await rig.deliver(DeliveryMethod.CHAT_TO_REQUESTER)
    assert receipt.activity_id == "activity-1"
    events = await rig.audit()
    assert [(e.action, e.outcome, e.detail.get("method")) for e in events] == [
        ("delivery", "sent", "chat_requester"),
        ("notice", "failed", "sms"),
        ("notice", "failed", "email"),
    ]


async def test_a_notice_nobody_can_get_is_audited_as_skipped() -> None:
    rig = Rig(NOTICE_METHODS="sms")
    rig.directory.users[LIAM.id] = person("Liam Carter", id=LIAM.id)
    await rig.deliver(DeliveryMethod.CHAT_TO_REQUESTER)
    events = await rig.audit()
    assert (events[-1].action, events[-1].outcome) == ("notice", "skipped")


async def test_redaction_edits_the_message_with_the_right_wording() -> None:
    rig = Rig()
    rig.chat.conversations[f"user:{LIAM.id}"] = "a:liam"
    for method in (DeliveryMethod.CHAT_TO_REQUESTER, DeliveryMethod.CHAT_TO_TARGET):
        receipt = await rig.deliver(method)
        await rig.router.redact(
            ScheduledEdit(
                id=f"redact:{method}",
                due_at=rig.clock.now() + timedelta(hours=1),
                conversation_key=receipt.conversation_key,
                activity_id=receipt.activity_id,
                kind="redact_pass",
                payload={
                    "request_id": f"request-{method.value}",
                    "target_name": "Liam Carter",
                    "ends_at": (rig.clock.now() + timedelta(hours=1)).isoformat(),
                },
            )
        )
    to_requester, to_target = rig.chat.messages
    assert "If Liam Carter still needs one" in readable_text(to_requester.edits[0])
    assert "If you still need one" in readable_text(to_target.edits[0])
    assert PASS not in json.dumps([to_requester.edits, to_target.edits])


async def test_notify_shows_the_text_literally_or_says_it_could_not() -> None:
    rig = Rig()
    assert await rig.router.notify(OLIVIA.id, "Your request for *Liam* was interrupted.")
    [card] = rig.chat.cards_to(OLIVIA.id)
    assert _runs(card) == ["Your request for *Liam* was interrupted."]
    assert not await rig.router.notify(LIAM.id, "x")


async def test_chat_reach_tells_the_form_whether_tapbot_can_reach_the_person() -> None:
    rig = Rig()
    assert await rig.router.chat_reach(OLIVIA.id) == ChatReach(True, None)
    assert await rig.router.chat_reach(LIAM.id) == ChatReach(False, False)
    rig.directory.installed_apps.add((LIAM.id, APP_ID))
    assert await rig.router.chat_reach(LIAM.id) == ChatReach(False, True)
    rig.directory.fail("is_app_installed_for", DirectoryUnavailable("down", status=503))
    assert await rig.router.chat_reach(LIAM.id) == ChatReach(False, None)


# Right before a pass is created: can the chosen method still reach the person?


def _typed(rig: Rig, method: DeliveryMethod, number: str) -> TapRequest:
    return dataclasses.replace(rig.request(method), typed_number=number)


async def test_every_method_that_works_says_so_without_sending_anything() -> None:
    rig = Rig()
    for method in DeliveryMethod:
        assert await rig.router.cannot_deliver(rig.request(method)) is None, method
    assert rig.sms.sent == []
    assert rig.directory.sent_mail == []
    assert rig.chat.cards_to(LIAM.id) == []
    assert rig.directory.called("install_app_for") == 0


@pytest.mark.parametrize(
    ("method", "mobile", "mails", "words"),
    [
        (DeliveryMethod.SMS, "020 7946 0111", (), "landline or service number"),
        (DeliveryMethod.SMS, None, (), "there is no mobile number"),
        (DeliveryMethod.EMAIL, None, (), "no personal email address for Liam Carter"),
    ],
)
async def test_a_number_or_address_gone_from_the_directory_is_said_before_any_pass(
    method: DeliveryMethod, mobile: str | None, mails: tuple[str, ...], words: str
) -> None:
    rig = Rig()
    rig.directory.users[LIAM.id] = person(
        "Liam Carter", id=LIAM.id, mobile_phone=mobile, other_mails=mails
    )
    why = await rig.router.cannot_deliver(rig.request(method))
    assert why is not None
    assert words in why


async def test_the_persons_chat_without_leave_to_install_is_said_before_any_pass() -> None:
    rig = Rig(TEAMS_INSTALL_FOR_TARGET="false")
    why = await rig.router.cannot_deliver(rig.request(DeliveryMethod.CHAT_TO_TARGET))
    assert why == "tapbot is not installed in Teams for Liam Carter"
    rig.directory.fail("is_app_installed_for", DirectoryUnavailable("down"))
    why = await rig.router.cannot_deliver(rig.request(DeliveryMethod.CHAT_TO_TARGET))
    assert why is not None
    assert "did not let me check" in why


async def test_a_directory_that_cannot_be_read_is_a_reason_not_an_error() -> None:
    rig = Rig()
    rig.directory.fail("get_user", DirectoryUnavailable("down"), times=None)
    why = await rig.router.cannot_deliver(rig.request(DeliveryMethod.EMAIL))
    assert why == "I couldn't read Liam Carter's details from the directory"


async def test_a_method_that_is_not_set_up_is_said_before_any_pass() -> None:
    rig = Rig(SMS_PROVIDER="none")
    rig.router = build_delivery(
        Settings.from_env(BASE | {"SMS_PROVIDER": "none"}),
        chat=rig.chat,
        directory=rig.directory,
        mailer=rig.directory,
        sms=None,
        store=rig.store,
        auditor=Auditor(rig.store, rig.clock),
        clock=rig.clock,
    )
    why = await rig.router.cannot_deliver(rig.request(DeliveryMethod.SMS))
    assert why == "delivery by text message is not set up here"


# A number the requester typed


async def test_a_typed_number_gets_the_text_instead_of_the_directorys() -> None:
    rig = Rig(SMS_ALLOW_TYPED_NUMBER="true")
    request = _typed(rig, DeliveryMethod.SMS, "+447400123999")
    assert await rig.router.cannot_deliver(request) is None
    await rig.store.add_request(request)
    receipt = await rig.router.deliver(request, rig.issued())
    [text] = rig.sms.sent
    assert text.to == "+447400123999"
    assert PASS in text.text.split("\n")
    assert receipt.destination == "+44 •••• ••39 99"


async def test_a_typed_number_is_refused_once_the_setting_is_off() -> None:
    rig = Rig()  # SMS_ALLOW_TYPED_NUMBER defaults to false
    request = _typed(rig, DeliveryMethod.SMS, "+447400123999")
    why = await rig.router.cannot_deliver(request)
    assert why is not None
    assert "no longer allowed" in why
    await rig.store.add_request(request)
    with pytest.raises(DeliveryFailed, match="no longer allowed"):
        await rig.router.deliver(request, rig.issued())
    assert rig.sms.sent == []


async def test_the_notice_goes_to_the_directory_number_never_the_typed_one() -> None:
    rig = Rig(SMS_ALLOW_TYPED_NUMBER="true", NOTICE_METHODS="sms")
    request = _typed(rig, DeliveryMethod.EMAIL, "+447400123999")
    await rig.store.add_request(request)
    await rig.router.deliver(request, rig.issued())
    [notice] = rig.sms.sent
    assert notice.to == "+447911123456"


async def _email_for(rig: Rig, **changes: Any) -> Any:
    request = dataclasses.replace(rig.request(DeliveryMethod.EMAIL), **changes)
    await rig.store.add_request(request)
    await rig.router.deliver(request, rig.issued())
    [mail] = rig.directory.sent_mail
    return mail


HANA = person("Hana Desk")


@pytest.mark.parametrize(
    "changes",
    [
        # A helpdesk member asked: the manager was never checked, and may have been set a
        # moment ago by whoever wants the pass.
        {"kind": RequestKind.HELPDESK, "requester_id": HANA.id, "requester_name": "Hana Desk"},
        # The manager asked, but had become the manager recently: the helpdesk approved a pass
        # for the person, not a copy for the new manager.
        {"stages": (Stage(ApproverKind.HELPDESK, 240),), "reason": "manager_changed"},
        # Someone else is the manager by now.
        {"requester_id": HANA.id, "requester_name": "Hana Desk"},
    ],
)
async def test_the_email_copies_only_a_manager_who_asked_without_a_recent_change(
    changes: dict[str, Any],
) -> None:
    rig = Rig()

    mail = await _email_for(rig, **changes)

    assert (mail.to, mail.cc) == (("liam.carter.home@example.net",), ())
    assert "is in copy" not in mail.html_body


async def test_a_joiners_email_copies_the_manager_who_asked() -> None:
    rig = Rig()

    mail = await _email_for(rig, kind=RequestKind.JOINER)

    assert mail.cc == (OLIVIA.mail,)

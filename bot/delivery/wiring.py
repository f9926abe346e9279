"""Assemble the delivery from the settings, for the composition root."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import httpx

from bot.config import Settings, SmsProvider
from bot.delivery.acs import AcsSms
from bot.delivery.channels import (
    ChatToRequester,
    ChatToTarget,
    EmailChannel,
    NoticeChannel,
    PassChannel,
    SmsChannel,
    Wording,
)
from bot.delivery.email import EmailComposer
from bot.delivery.ports import SmsSender, TeamsChat
from bot.delivery.router import DeliveryRouter
from bot.delivery.settings import acs_connection, delivery_setup
from bot.delivery.sms import SmsRetry
from bot.delivery.twilio import TwilioSms
from bot.domain.audit import Auditor
from bot.domain.model import DeliveryMethod
from bot.domain.ports import Clock, Directory, Mailer, Store


def build_sms_sender(
    settings: Settings, http: httpx.AsyncClient, clock: Clock, *, retry: SmsRetry | None = None
) -> SmsSender | None:
    """The configured SMS provider on *http* (not closed here), or None when there is none.
    *retry* replaces the default retry policy (tests)."""
    if settings.sms_provider is SmsProvider.TWILIO:
        key = settings.twilio_api_key_sid
        return TwilioSms(
            http,
            account_sid=settings.twilio_account_sid,
            username=key or settings.twilio_account_sid,
            password=settings.twilio_api_key_secret if key else settings.twilio_auth_token,
            sender=settings.twilio_from,
            messaging_service_sid=settings.twilio_messaging_service_sid,
            base_url=settings.twilio_base_url,
            timeout=settings.sms_timeout_seconds,
            retry=retry,
        )
    if settings.sms_provider is SmsProvider.ACS:
        connection = acs_connection(settings)
        return AcsSms(
            http,
            endpoint=connection.endpoint,
            access_key=connection.access_key,
            sender=settings.acs_from,
            clock=clock,
            timeout=settings.sms_timeout_seconds,
            retry=retry,
        )
    return None


def build_delivery(
    settings: Settings,
    *,
    chat: TeamsChat,
    directory: Directory,
    mailer: Mailer,
    sms: SmsSender | None,
    store: Store,
    auditor: Auditor,
    clock: Clock,
) -> DeliveryRouter:
    """The `PassDelivery` port with a channel for every method the settings make possible."""
    timezone = ZoneInfo(settings.timezone)
    wording = Wording(timezone, settings.helpdesk_contact)
    channels: list[PassChannel] = [ChatToRequester(chat, wording)]
    notices: dict[DeliveryMethod, NoticeChannel] = {}
    if settings.teams_app_id:
        to_target = ChatToTarget(
            chat,
            directory,
            wording,
            teams_app_id=settings.teams_app_id,
            install=settings.teams_install_for_target,
        )
        channels.append(to_target)
        notices[to_target.method] = to_target
    if sms is not None:
        setup = delivery_setup(settings)
        by_sms = SmsChannel(
            sms, wording, default_region=setup.default_region, typed_numbers=setup.typed_numbers
        )
        channels.append(by_sms)
        notices[by_sms.method] = by_sms
    if settings.mail_sender:
        composer = EmailComposer(sender=settings.mail_sender, timezone=timezone)
        by_email = EmailChannel(
            mailer,
            directory,
            composer,
            wording,
            mail_to=settings.mail_to,
            cc_manager=settings.mail_cc_manager,
        )
        channels.append(by_email)
        notices[by_email.method] = by_email
    return DeliveryRouter(
        channels=channels,
        chat=chat,
        directory=directory,
        store=store,
        auditor=auditor,
        clock=clock,
        timezone=timezone,
        notices=[notices[m] for m in settings.notice_methods if m in notices],
        teams_app_id=settings.teams_app_id,
    )

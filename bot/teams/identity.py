"""Who sent an activity: taken only from the channel-authenticated activity, never card data."""

from __future__ import annotations

from dataclasses import dataclass

from botbuilder.schema import Activity
from botbuilder.schema.teams import TeamsChannelData


@dataclass(frozen=True, slots=True)
class Caller:
    """The person behind an activity: Entra object id, display name and tenant id."""

    user_id: str
    name: str
    tenant_id: str


def caller_of(activity: Activity) -> Caller | None:
    """Return the authenticated caller of *activity*, or None when it names no Entra user.

    The tenant comes from ``channelData.tenant.id``: botbuilder 4.17 drops
    ``conversation.tenantId`` (teams-playground.md §4.3).
    """
    sender = activity.from_property
    user_id = getattr(sender, "aad_object_id", None) if sender else None
    if not user_id:
        return None
    tenant_id = ""
    if activity.channel_data:
        channel_data = TeamsChannelData().deserialize(activity.channel_data)
        if channel_data.tenant is not None and channel_data.tenant.id:
            tenant_id = channel_data.tenant.id
    return Caller(user_id=user_id, name=(sender.name or "") if sender else "", tenant_id=tenant_id)

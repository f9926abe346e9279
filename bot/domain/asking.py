"""Putting a request's approval card in front of the people who may decide its waiting stage,
and telling the requester when it reached nobody (`bot.domain.workflow` calls it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain.approvals import shown_to_deciders, stage_group
from bot.domain.audit import Auditor
from bot.domain.errors import DirectoryError
from bot.domain.model import (
    ApprovalPosting,
    ApproverKind,
    RateLimit,
    RequestState,
    TapRequest,
    Unseen,
)
from bot.domain.ports import Directory, RequestBoard, Store
from bot.domain.telling import TellRequester

# Teams refreshes a card (`refresh.userIds`) for at most 60 people.
MAX_REFRESH_APPROVERS = 60
# Waiting requests looked at when the helpdesk's channel becomes known: far more than wait at
# once in practice; any beyond are left to "Post it again".
UNSEEN_SCAN_LIMIT = 500
# A waiting stage is asked for by such a scan at most once in this long, whichever bot process
# scans: two processes handling the installation (or a retried one) post its card once, and
# installing again and again does not read its group and audit it each time.
UNSEEN_SCAN_EVERY = timedelta(minutes=15)


class ApprovalAsking:
    """Posts approval cards through the `RequestBoard` and audits each posting."""

    def __init__(
        self,
        *,
        directory: Directory,
        board: RequestBoard,
        store: Store,
        auditor: Auditor,
        tell: TellRequester,
        helpdesk_group_id: str,
    ) -> None:
        self._directory = directory
        self._board = board
        self._store = store
        self._audit = auditor
        self._tell = tell
        self._helpdesk = helpdesk_group_id

    async def ask(self, request: TapRequest, *, tell: bool = True) -> ApprovalPosting:
        """Post the approval card for the current stage. When it reached nobody, the request
        keeps waiting (the requester may get the cause fixed and post it again, or cancel),
        and the requester is told so, and why, in their chat (unless not *tell*); audited
        either way."""
        stage = request.current_stage
        assert stage is not None
        approvers = await self._approver_ids(request)
        posting = await self._board.ask_for_approval(request, approver_ids=approvers)
        detail = {"stage": str(request.stage), "approver": stage.approver}
        await self._audit.record(
            "approval",
            "requested",
            actor_id=request.requester_id,
            target_id=request.target_id,
            request_id=request.id,
            detail=detail | {"posted": str(posting.posted)},
        )
        if posting.posted == 0:
            why = posting.unseen or Unseen.TEAMS_ERROR
            await self._audit.record(
                "approval",
                "unseen",
                actor_id="tapbot",
                target_id=request.target_id,
                request_id=request.id,
                reason=why.value,
                detail=detail,
            )
            if tell:
                await self._tell.unseen(request, why)
            posting = ApprovalPosting(0, why)
        return posting

    async def ask_where_unseen(self, now: datetime) -> list[TapRequest]:
        """Post again the approval card of each waiting request whose helpdesk or group stage
        reached nobody, for when tapbot has just learnt where the helpdesk's cards go (it was
        installed in the helpdesk's team). Returns the requests whose card went out now. A
        stage past its timeout is left to expiry, a manager's stage to "Post it again" (the
        manager's chat is not what changed); a card that still reaches nobody is audited
        but its requester, told once already, is not told again. Each waiting stage is asked
        for at most once per `UNSEEN_SCAN_EVERY` by such scans, in whichever bot process.
        Raises StoreError."""
        waiting = await self._store.list_requests(
            states=[RequestState.PENDING_APPROVAL], oldest_first=True, limit=UNSEEN_SCAN_LIMIT
        )
        posted: list[TapRequest] = []
        for listed in waiting:
            # Read again: posting the ones before it took a while, and it may have been
            # cancelled, decided or expired meanwhile.
            request = await self._store.get_request(listed.id)
            if request is None or request.state is not RequestState.PENDING_APPROVAL:
                continue
            stage = request.current_stage
            if stage is None or stage.approver is ApproverKind.MANAGER:
                continue
            if request.stage_due_at is not None and request.stage_due_at <= now:
                continue
            if await self.shown(request):
                continue
            claim = RateLimit(1, now - UNSEEN_SCAN_EVERY)
            if not await self._store.admit(
                "unseen_scan", f"{request.id}@{request.stage}", at=now, limit=claim
            ):
                continue
            if (await self.ask(request, tell=False)).posted:
                posted.append(request)
        return posted

    async def shown(self, request: TapRequest) -> bool:
        """Whether the approval card of *request*'s waiting stage reached anyone who may
        decide it (True when it waits for no decision). Raises StoreError."""
        if request.current_stage is None:
            return True
        return shown_to_deciders(request, await self._store.list_request_messages(request.id))

    async def _approver_ids(self, request: TapRequest) -> Sequence[str]:
        """Who may decide the current stage, as far as cheaply known: the target's manager, or
        up to 60 members of the stage's group (Teams refreshes cards for at most 60 people);
        the requester and the target are never among them. Empty when Graph cannot tell."""
        stage = request.current_stage
        assert stage is not None
        excluded = {
            request.requester_id,
            request.target_id,
            *(d.decider_id for d in request.decisions),
        }
        try:
            if stage.approver is ApproverKind.MANAGER:
                manager = await self._directory.get_manager(request.target_id)
                found = [manager.id] if manager else []
            else:
                found = await self._directory.list_group_members(
                    stage_group(stage, self._helpdesk), limit=MAX_REFRESH_APPROVERS + len(excluded)
                )
        except DirectoryError:
            return []
        return [i for i in found if i not in excluded][:MAX_REFRESH_APPROVERS]

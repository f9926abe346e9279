"""One list of commands: the handler, the help card and the Teams manifest agree with
cards/commands.py, and nothing is listed that has no handler."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appPackage.build import manifest
from bot.domain.audit import Auditor
from bot.domain.audit_view import AuditViewer
from bot.domain.requester import Profiles
from bot.domain.status import MyRequests
from bot.domain.team import TeamPasses
from bot.teams.approval_cards import ApprovalCards
from bot.teams.audit_cards import AuditCards
from bot.teams.board import TeamsBoard
from bot.teams.handler import TapbotHandler, TeamsDeps
from bot.teams.proactive import ConversationReferences
from bot.teams.request_cards import RequestCards
from bot.teams.status_cards import StatusCards
from bot.teams.team_cards import TeamCards
from cards.commands import COMMANDS, commands_table
from cards.help import HelpView, help_card
from tests.unit.cards.card_walk import elements
from tests.unit.domain.world import World

WORDS = [word for word, _ in COMMANDS]
UTC = ZoneInfo("UTC")


def _handler() -> TapbotHandler:
    world = World()
    clock, directory, store, delivery = world.clock, world.directory, world.store, world.delivery
    auditor = Auditor(store, clock)
    # Nothing is posted in these tests: the board never reaches Teams.
    board = TeamsBoard(
        None,  # type: ignore[arg-type]
        ConversationReferences(store, clock),
        store,
        clock,
        app_id="",
        timezone=UTC,
        helpdesk_channel_id="",
    )
    request_cards = RequestCards(
        world.requests, world.offers, board, UTC, is_helpdesk=world.checks.is_helpdesk
    )
    team = TeamPasses(
        directory=directory,
        pass_issuer=directory,
        delivery=delivery,
        auditor=auditor,
        clock=clock,
        store=store,
    )
    viewer = AuditViewer(
        directory=directory, store=store, auditor=auditor, clock=clock, helpdesk_group_id=""
    )
    return TapbotHandler(
        TeamsDeps(
            profiles=Profiles(directory=directory, store=store, clock=clock, helpdesk_group_id=""),
            references=ConversationReferences(store, clock),
            auditor=auditor,
            tenant_id="t",
            helpdesk_group_id="",
            request_cards=request_cards,
            approval_cards=ApprovalCards(world.requests, store, UTC),
            team_cards=TeamCards(team, request_cards, UTC),
            audit_cards=AuditCards(viewer, UTC),
            status_cards=StatusCards(
                MyRequests(store=store, requests=world.requests, clock=clock), UTC
            ),
        )
    )


def test_the_handler_understands_exactly_the_listed_commands() -> None:
    assert list(_handler().commands) == WORDS


def test_the_manifest_lists_exactly_the_commands_with_their_descriptions() -> None:
    data = manifest(bot_id="44444444-4444-4444-4444-444444444444")
    listed = data["bots"][0]["commandLists"][0]["commands"]
    assert [(c["title"], c["description"]) for c in listed] == list(COMMANDS)


def test_the_help_card_lists_exactly_the_commands() -> None:
    card = help_card(HelpView("Ann Lee", 2, True, True, COMMANDS))
    facts = [f for e in elements(card) if e["type"] == "FactSet" for f in e["facts"]]
    assert [(f["title"], f["value"]) for f in facts] == list(COMMANDS)


def test_a_listed_command_without_a_handler_stops_the_bot_from_starting() -> None:
    handlers = {word: object() for word in WORDS[:-1]}
    with pytest.raises(ValueError, match=f"commands without a handler: \\['{WORDS[-1]}'\\]"):
        commands_table(handlers)


def test_a_handler_for_an_unlisted_command_stops_the_bot_from_starting() -> None:
    handlers = {word: object() for word in [*WORDS, "frobnicate"]}
    with pytest.raises(ValueError, match="handlers not in COMMANDS: \\['frobnicate'\\]"):
        commands_table(handlers)


def test_the_manifest_allows_every_description() -> None:
    # Teams' schema: command titles up to 32 characters, descriptions up to 128.
    assert all(len(word) <= 32 and len(what) <= 128 for word, what in COMMANDS)


def test_the_readme_lists_the_same_commands_in_the_same_words() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Commands in Teams", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (.+?) \|$", section, flags=re.MULTILINE)
    assert rows == [(word, text.rstrip(".")) for word, text in COMMANDS]

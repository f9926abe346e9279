"""The `Store` contract for where a pass goes (migration 0006): the number a requester typed and
where a delivered pass went, on memory, SQLite and PostgreSQL; and requests stored before the
migration reading back without either."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from bot.domain.model import DeliveryMethod, RequestState
from bot.domain.ports import Store
from bot.store.engine import make_engine
from bot.store.migrator import MIGRATIONS
from bot.store.sql import create_store, migrate
from tests.integration.store.support import T0, minutes, request

TYPED = "+447400123999"
MASKED = "+44 •••• ••39 99"


async def test_a_typed_number_reads_back_equal(store: Store) -> None:
    typed = request(delivery=DeliveryMethod.SMS, typed_number=TYPED)
    await store.add_request(typed)
    assert await store.get_request("r1") == typed


async def test_a_request_without_them_reads_back_with_none_and_empty(store: Store) -> None:
    await store.add_request(request())
    got = await store.get_request("r1")
    assert got is not None
    assert (got.typed_number, got.delivered_to) == (None, "")


async def test_delivery_records_where_the_pass_went_and_keeps_the_typed_number(
    store: Store,
) -> None:
    await store.add_request(
        request(delivery=DeliveryMethod.SMS, typed_number=TYPED, state=RequestState.ISSUING)
    )
    moved = await store.transition(
        "r1",
        expected=(RequestState.ISSUING,),
        new_state=RequestState.DELIVERED,
        at=T0 + minutes(1),
        changes={"delivered_to": MASKED},
    )
    assert (moved.typed_number, moved.delivered_to) == (TYPED, MASKED)
    assert await store.get_request("r1") == moved


@pytest.mark.parametrize("bad", ["+44\x00", "\ud800"])
async def test_text_no_engine_can_keep_is_refused_in_the_new_fields(store: Store, bad: str) -> None:
    with pytest.raises(ValueError, match=r"NUL|Unicode"):
        await store.add_request(request(typed_number=bad))
    await store.add_request(request())
    with pytest.raises(ValueError, match=r"NUL|Unicode"):
        await store.update_request("r1", changes={"delivered_to": bad})


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_requests_stored_before_the_migration_read_back_without_them(
    empty_sql_url: str,
) -> None:
    engine = make_engine(empty_sql_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "0005")
            await connection.execute(
                text(
                    "INSERT INTO tap_requests (id, tenant_id, requester_id, requester_name, "
                    "target_id, target_name, lifetime_minutes, is_usable_once, delivery, "
                    "justification, state, stage, version, replace_existing, created_at, "
                    "updated_at) VALUES ('old', '', 'm1', 'Megan Bowen', 't1', 'Emma Brooks', "
                    "60, true, 'sms', 'first day', 'delivered', 0, 3, false, :at, :at)"
                ),
                {"at": T0.replace(tzinfo=None) if "sqlite" in empty_sql_url else T0},
            )
    finally:
        await engine.dispose()
    await migrate(empty_sql_url)
    store = create_store(empty_sql_url)
    try:
        old = await store.get_request("old")
    finally:
        await store.close()
    assert old is not None
    assert (old.typed_number, old.delivered_to, old.delivery) == (None, "", DeliveryMethod.SMS)

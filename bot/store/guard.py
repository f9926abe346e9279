"""`translated`: driver and connection errors become StoreError, with no SQL parameters."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from bot.domain.errors import StoreError
from bot.store.engine import describe

P = ParamSpec("P")
T = TypeVar("T")


def translated(method: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Turn driver and connection errors raised by *method* into StoreError."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (SQLAlchemyError, OSError) as exc:
            error = StoreError(describe(method.__name__, exc))
        # Raised outside the handler so the driver's exception, whose text can quote SQL
        # parameters, is not chained to it.
        raise error

    return wrapper

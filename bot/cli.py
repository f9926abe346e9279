"""``python -m bot joiners sweep``: run the joiner sweep once, now, and say what it did.

It uses the bot's own settings, store and Teams connector, so reminders land where the running
bot would put them, and claims every joiner in the store as the bot does: running it while the
bot sweeps, or twice, sends no reminder twice. Exit status: 0 when the sweep finished, 1 when
it did not (a Graph or store failure; the next sweep resumes), 2 for settings problems.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import TextIO

from bot.domain.errors import StoreError
from bot.domain.joiner_steps import JoinerOutcome, OutcomeKind
from bot.domain.joiner_sweep import JoinerSweep, SweepReport


async def joiners_sweep(
    open_sweep: Callable[[], AbstractAsyncContextManager[JoinerSweep]], out: TextIO = sys.stdout
) -> int:
    """Sweep once with the sweep *open_sweep* builds (the composition root's); print one line
    per joiner in the window and a summary. Return the exit status."""
    try:
        async with open_sweep() as sweep:
            window = sweep.window(sweep.ports.clock.now())
            zone = sweep.config.timezone.key
            print(
                f"Joiner sweep for {_day(window.today)} ({zone}): hire dates from "
                f"{_day(window.first_day)} to {_day(window.last_day)}.",
                file=out,
                flush=True,
            )
            report = await sweep.run(
                on_outcome=lambda outcome: print(f"  {_line(outcome)}", file=out, flush=True)
            )
    except StoreError as error:
        print(f"The sweep could not start: {error}", file=out)
        return 1
    print(_summary(report), file=out)
    return 0 if report.complete else 1


def _line(outcome: JoinerOutcome) -> str:
    who = outcome.name or outcome.joiner_id
    if outcome.day is not None and outcome.days_until is not None:
        verb = "started" if outcome.days_until < 0 else "starts"
        who += f", {verb} {_day(outcome.day)} ({_relative(outcome.days_until)})"
    match outcome.kind:
        case OutcomeKind.REMINDED:
            done = f"; {outcome.reason.replace('_', ' ')}" if outcome.reason else ""
            return f"{who}: reminder sent to {outcome.recipient_name}{done}"
        case OutcomeKind.SKIPPED:
            return f"{who}: skipped ({outcome.reason.replace('_', ' ')})"
        case OutcomeKind.BUSY:
            return f"{who}: another instance is handling it right now"
        case OutcomeKind.UNDELIVERABLE:
            return f"{who}: nobody could be reached ({outcome.reason}); the next sweep tries again"
        case OutcomeKind.UNKNOWN:
            return (
                f"{who}: a send was interrupted and may have arrived; it is not sent again "
                f"({outcome.reason})"
            )
        case OutcomeKind.FAILED:
            return f"{who}: failed ({outcome.reason}); the next sweep tries again"
    return who  # pragma: no cover


def _summary(report: SweepReport) -> str:
    counts = report.counts
    text = (
        f"{report.found} joiner{'s' if report.found != 1 else ''} in the window: "
        f"{counts[OutcomeKind.REMINDED]} reminded, {counts[OutcomeKind.SKIPPED]} skipped, "
        f"{counts[OutcomeKind.UNDELIVERABLE]} unreachable, {counts[OutcomeKind.FAILED]} failed."
    )
    if report.out_of_scope:
        text += f" {report.out_of_scope} outside the configured scope."
    if report.listing_error:
        text += (
            f"\nThe directory stopped answering while listing joiners ({report.listing_error}); "
            "run the sweep again to resume: nothing already sent is sent twice."
        )
    return text


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _relative(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    return f"in {days} days" if days > 0 else f"{-days} days ago"

"""One smoke test in a real browser: the manager fills the request card in the Playground UI.

Uses Debian's chromium (never a browser downloaded by Playwright). It is skipped, with the
reason, where chromium is missing, except under TAPBOT_REQUIRE_BROWSER=1 (CI), where that fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.run import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing (Debian package chromium; `make test` installs it)"
        if os.environ.get("TAPBOT_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


async def test_the_manager_fills_and_submits_the_request_card_in_the_browser(
    sandbox: Sandbox, chromium: Path
) -> None:
    from playwright.async_api import async_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(chromium), args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            await page.goto(sandbox.playgrounds[0].url)
            await page.locator('button[aria-label="Personal Chat"]').click()
            compose = page.locator('[data-lexical-editor="true"]').first
            await compose.click()
            await page.keyboard.type("request")
            await page.keyboard.press("Enter")
            heading = page.get_by_text("Request a Temporary Access Pass").last
            await heading.wait_for(timeout=30_000)
            card = page.locator(".ac-adaptiveCard").last
            await card.get_by_role("combobox").first.click()
            await page.get_by_role("option", name="Sophie Turner, Financial Analyst").click()
            await page.screenshot(path=str(OUTPUT / "01_person_chosen.png"))
            await card.get_by_role("button", name="Next").click()
            # Step two replaces the card: the pass for Sophie, with the ways that reach her.
            await page.get_by_text("Temporary Access Pass for Sophie Turner").last.wait_for(
                timeout=30_000
            )
            card = page.locator(".ac-adaptiveCard").last
            await card.locator("textarea").fill("Smoke test: new phone, needs to re-register")
            await page.screenshot(path=str(OUTPUT / "02_request_card_filled.png"))
            await card.get_by_role("button", name="Request pass").click()
            await page.get_by_text("Pass issued for Sophie Turner").last.wait_for(timeout=30_000)
            await page.get_by_text("Temporary Access Pass for Sophie Turner").last.wait_for()
            await page.screenshot(path=str(OUTPUT / "03_pass_issued.png"))
        finally:
            await browser.close()

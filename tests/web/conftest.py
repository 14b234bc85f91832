"""Browser fixtures: Python Playwright driving the machine's Chromium (`playwright install` cannot download here)."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def chromium_path() -> str | None:
    """The Chromium the tests drive: $GATEWAY_TEST_CHROMIUM, Debian's /usr/bin/chromium, or one on PATH."""
    for candidate in (os.environ.get("GATEWAY_TEST_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module. Not for the session: Playwright's sync API keeps an event loop of its own
    while it runs, which the async tests that a pytest-xdist worker may run next would find in the way."""
    path = chromium_path()
    reason = "no Chromium found (/usr/bin/chromium): `apt-get install -y chromium` to run the browser tests"
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page that records what must never happen: uncaught script errors and requests to anywhere but the gateway."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        self.foreign: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", self._request)

    def _request(self, request) -> None:
        url = request.url
        host = self.base_url.replace("http://", "")
        if not (url.startswith((self.base_url, f"ws://{host}", "data:", "blob:"))):
            self.foreign.append(url)

    def shot(self, name: str) -> Path:
        """Save a screenshot as test output (not committed)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path


@pytest.fixture
def ui(browser, live_server) -> Iterator[Watched]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    watched = Watched(page, live_server.url)
    yield watched
    context.close()
    assert watched.foreign == [], f"requests left the gateway: {watched.foreign}"
    assert watched.errors == [], f"script errors: {watched.errors}"

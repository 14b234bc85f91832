"""The login page and the session (identities contract) in a real browser, with GATEWAY_AUTH=required."""

from collections.abc import Iterator

import pytest

from gateway.app.auth import tokens
from gateway.app.main import create_app
from tests.conftest import LiveServer
from tests.web.conftest import Watched

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def secure_server(settings, db) -> Iterator[LiveServer]:
    app = create_app(settings.model_copy(update={"auth": "required"}), db=db)
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def secure_ui(browser, secure_server) -> Iterator[Watched]:
    context = browser.new_context(base_url=secure_server.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    watched = Watched(context.new_page(), secure_server.url)
    yield watched
    context.close()
    assert watched.foreign == []
    assert watched.errors == []


def test_a_person_logs_in_with_a_token_works_with_the_session_cookie_and_logs_out(secure_ui, db):
    with db.get_session() as session:
        secret = tokens.issue(session=session, kind="user", name="ada", admin=True).secret
    page = secure_ui.page
    page.goto("/#/projects")
    page.get_by_role("heading", name="Log in to Gateway").wait_for()  # 401 from the session: the login page

    page.get_by_label("Token").fill("not-a-token")
    page.get_by_role("button", name="Log in").click()
    page.locator("form.login .problem").wait_for()  # the API's problem, next to the form

    page.get_by_label("Token").fill(secret)
    page.get_by_role("button", name="Log in").click()
    page.locator("#who", has_text="ada").wait_for()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["gateway_session"]["httpOnly"]
    assert not cookies["gateway_csrf"]["httpOnly"]

    # A change through the session cookie carries the CSRF token; the live stream authenticates by the cookie.
    page.get_by_label("Name").fill("Logged In")
    page.get_by_label("Genre").fill("puzzle")
    page.get_by_label("Engine").fill("phaser")
    page.get_by_role("button", name="Create project").click()
    page.locator("#plan-tasks[data-ready=true]").wait_for()
    page.locator("#live[data-state=live]").wait_for()
    secure_ui.shot("login-then-plan")

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in to Gateway").wait_for()
    page.goto("/#/projects")
    page.get_by_role("heading", name="Log in to Gateway").wait_for()

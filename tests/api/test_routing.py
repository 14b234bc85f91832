"""gateway/app/api/routing.py: a sync endpoint makes one trip to the thread pool (issue 15)."""

import inspect
import threading

import anyio.to_thread
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, field_validator
from sqlalchemy.orm import Session

from gateway.app.api import deps
from gateway.app.api.routing import DocumentedRoute
from tests.conftest import LocalClient

SEEN: dict[str, int] = {}


class Answer(BaseModel):
    value: int

    @field_validator("value")
    @classmethod
    def _where(cls, value: int) -> int:
        SEEN.setdefault("validated", threading.get_ident())
        return value


class FakeSession(Session):
    def close(self) -> None:
        SEEN.setdefault("closed", threading.get_ident())  # the first close; a second one is a no-op
        super().close()


def app_with(router: APIRouter) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    return app


class FakeDb:
    def new_session(self) -> Session:
        return FakeSession()


def test_a_sync_endpoint_runs_closes_its_session_and_is_validated_in_one_worker_thread(monkeypatch):
    router = APIRouter(route_class=DocumentedRoute)

    @router.get("/answer", response_model=Answer)
    def answer(session: deps.SessionDep) -> dict:
        """Answer."""
        SEEN["endpoint"] = threading.get_ident()
        return {"value": 42}

    app = app_with(router)
    app.state.db = FakeDb()
    hops = []
    run_sync = anyio.to_thread.run_sync

    async def counting(func, *args, **kwargs):
        hops.append(func)
        return await run_sync(func, *args, **kwargs)

    SEEN.clear()
    with LocalClient(app) as client:
        monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
        response = client.get("/answer")
    assert response.status_code == 200
    assert response.json() == {"value": 42}
    assert len(hops) == 1  # FastAPI alone: the session dependency's entry and exit, the endpoint, the validation
    assert SEEN["endpoint"] == SEEN["closed"] == SEEN["validated"]
    assert SEEN["endpoint"] != threading.get_ident()  # not the test's (nor the event loop's) thread


def test_an_answer_that_does_not_fit_the_response_model_is_still_a_server_error():
    router = APIRouter(route_class=DocumentedRoute)

    @router.get("/answer", response_model=Answer)
    def answer() -> dict:
        """Answer wrongly."""
        return {"value": "not a number"}

    with LocalClient(app_with(router), raise_server_exceptions=False) as client:
        assert client.get("/answer").status_code == 500


def test_the_summary_and_signature_survive_the_wrapping():
    router = APIRouter(route_class=DocumentedRoute)

    @router.get("/answer/{n}", response_model=Answer)
    def answer(n: int) -> Answer:
        """Answer with n.

        More words."""
        return Answer(value=n)

    app = app_with(router)
    operation = app.openapi()["paths"]["/answer/{n}"]["get"]
    assert operation["summary"] == "Answer with n."
    assert [p["name"] for p in operation["parameters"]] == ["n"]
    with LocalClient(app) as client:
        assert client.get("/answer/7").json() == {"value": 7}


@pytest.mark.parametrize("dependency", [deps.get_db, deps._session, deps._read_session, deps.get_caller])
def test_shared_dependencies_never_take_a_worker_thread(dependency):
    # A sync dependency would cost a hand-off to the thread pool (a generator: two) on every request.
    assert inspect.iscoroutinefunction(dependency) or inspect.isasyncgenfunction(dependency)

"""gateway/app/services/event_streams.py: feeds, subscriptions, slow clients, lost wake-ups and shutdown."""

import json

import anyio
import pytest
from sqlalchemy import delete

from gateway.app import outbox
from gateway.app.db import DatabaseManager, EventDB, ProjectDB
from gateway.app.eventbus import MemoryBus
from gateway.app.outbox import CloseCode
from gateway.app.schemas.projects import ProjectCreate
from gateway.app.services import projects
from gateway.app.services.event_streams import ALL, EventHub, StreamSettings

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def write(db, project_id: str, count: int = 1) -> None:
    for n in range(count):
        with db.get_session() as session:
            outbox.record(session, project_id=project_id, type="project.updated", data={"n": n})
            session.commit()


class Client:
    """A subscriber's socket: records frames; `stall()` makes sending block until `resume()`."""

    def __init__(self) -> None:
        self.frames: list[dict] = []
        self._flowing = anyio.Event()
        self._flowing.set()

    def stall(self) -> None:
        self._flowing = anyio.Event()

    def resume(self) -> None:
        self._flowing.set()

    async def send(self, text: str) -> None:
        await self._flowing.wait()
        self.frames.append(json.loads(text))

    def seqs(self) -> list[int]:
        return [frame["event"]["seq"] for frame in self.frames if frame["kind"] == "event"]


@pytest.fixture
async def hub(db):
    with db.get_session() as session:
        projects.create(session=session, data=ProjectCreate(id="p", name="P"))  # seqs 1, 2: created, context
    hub = EventHub(
        db=db,
        bus=MemoryBus(),
        settings=StreamSettings(heartbeat_s=5, poll_interval_s=0.2, queue_size=2, send_timeout_s=0.5, max_lag=3),
    )
    await hub.start()
    yield hub
    await hub.stop()


async def eventually(predicate, timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)


async def test_a_client_that_takes_nothing_is_closed_as_too_slow(hub, db):
    client = Client()
    client.stall()
    subscription = hub.subscribe("p", after=2, head=2)
    write(db, "p", 5)
    with anyio.fail_after(5):
        ending = await subscription.run(client.send)
    assert ending.code == CloseCode.TOO_SLOW == 4408
    hub.unsubscribe(subscription)
    assert hub.feeds == {}


async def test_a_live_client_that_falls_further_behind_than_the_feed_keeps_is_closed(hub, db):
    client = Client()
    subscription = hub.subscribe("p", after=2, head=2)
    async with anyio.create_task_group() as group:
        outcome = []

        async def run() -> None:
            outcome.append(await subscription.run(client.send))

        group.start_soon(run)
        write(db, "p")
        await eventually(lambda: client.seqs() == [3])  # live now
        client.stall()
        write(db, "p", 2)  # one in the socket, one queued …
        await anyio.sleep(0.1)
        write(db, "p", 6)  # … and the feed (3 events) moves on without it
        await eventually(lambda: hub.feeds["p"].head == 11)
        client.resume()
    assert outcome[0].code == CloseCode.TOO_SLOW
    assert "behind" not in outcome[0].reason  # the reason is the documented one
    assert client.seqs() == sorted(set(client.seqs()))  # whatever it got was in order


async def test_events_written_without_the_bus_arrive_by_the_periodic_re_check(hub, db, database_url):
    other = DatabaseManager(database_url)  # another process on the same database, with no bus
    client = Client()
    subscription = hub.subscribe("p", after=2, head=2)
    async with anyio.create_task_group() as group:
        group.start_soon(subscription.run, client.send)
        write(other, "p", 2)
        await eventually(lambda: client.seqs() == [3, 4])
        group.cancel_scope.cancel()
    other.dispose()


async def test_a_project_removed_behind_the_gateway_s_back_ends_its_subscriptions(hub, db):
    client = Client()
    subscription = hub.subscribe("p", after=2, head=2)
    with db.get_session() as session:  # as an older tool would: no project.deleted event
        session.exec(delete(EventDB).where(EventDB.project_id == "p"))
        session.exec(delete(ProjectDB).where(ProjectDB.id == "p"))
        session.commit()
    with anyio.fail_after(5):
        ending = await subscription.run(client.send)
    assert ending.code == CloseCode.NOT_FOUND
    assert client.frames[-1]["kind"] == "project_deleted"


async def test_stopping_the_hub_closes_subscriptions_as_going_away(hub, db):
    client = Client()
    subscription = hub.subscribe(ALL, after=0, head=0)
    async with anyio.create_task_group() as group:
        outcome = []

        async def run() -> None:
            outcome.append(await subscription.run(client.send))

        group.start_soon(run)
        write(db, "p")
        await eventually(lambda: len(client.frames) == 3)
        await hub.stop()
    assert outcome[0].code == CloseCode.GOING_AWAY == 1001
    assert [frame["event"]["type"] for frame in client.frames] == [
        "project.created",
        "context.updated",
        "project.updated",
    ]


async def test_a_client_that_leaves_mid_send_ends_the_subscription_quietly(hub, db):
    async def broken(_text: str) -> None:
        raise ConnectionResetError

    subscription = hub.subscribe("p", after=0, head=2)
    with anyio.fail_after(5):
        assert await subscription.run(broken) is None


async def test_commits_after_the_loop_closed_are_ignored(db):
    hub = EventHub(db=db, bus=MemoryBus())
    hub.on_commit([])  # never started: nobody listens, nothing breaks

"""Live delivery to this process's subscribers: a feed per watched stream, read once per wake-up, shared.

A stream is one project's events (cursor: `seq`) or every project's (cursor: `position`). The hub keeps one
`Feed` per stream that somebody here watches: on each wake-up (from this process's commits or, through the
bus, from other processes) and on each periodic re-check, the feed reads the new rows from the database once
and keeps the newest of them, serialized, for all its subscribers. A `Subscription` (one WebSocket) first
replays from the database, then follows the feed; it always asks for "what comes after my cursor", so the
seam between replay and live delivery has neither a gap nor a duplicate.
"""

import asyncio
import bisect
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from gateway.app.config import Settings
from gateway.app.db import DatabaseManager, ProjectDB
from gateway.app.errors import HistoryGone, NotFound
from gateway.app.eventbus import EventBus, WakeUp, event_bus_from_url
from gateway.app.logging import get_logger
from gateway.app.outbox import CloseCode, EventRead
from gateway.app.services import event_log

log = get_logger(__name__)

ALL = None  # the key of the all-projects stream
REPLAY_PAGE = 200
_POLL_CHUNK = 500


@dataclass(frozen=True)
class StreamSettings:
    """How the hub paces and bounds delivery."""

    heartbeat_s: float = 15.0
    poll_interval_s: float = 2.0
    queue_size: int = 64
    send_timeout_s: float = 10.0
    max_lag: int = 1000


@dataclass(frozen=True)
class Ending:
    """How a subscription ended: the close code, a short reason, and a last control message to send first."""

    code: int
    reason: str
    message: dict[str, Any] | None = None


@dataclass(frozen=True)
class Frame:
    """One event, serialized once for every subscriber of the feed."""

    cursor: int
    text: str
    type: str


def control(kind: str, **fields: Any) -> str:
    """A control message (hello, heartbeat, reset, error, project_deleted) as a text frame."""
    return json.dumps({"kind": kind, **fields}, separators=(",", ":"), default=str)


def event_frame(event: EventRead, key: str | None) -> Frame:
    """The frame of an event, with the cursor of the stream it is delivered on."""
    text = '{"kind":"event","event":' + event.model_dump_json() + "}"
    return Frame(cursor=event.seq if key is not ALL else event.position, text=text, type=event.type)


class TooSlow(Exception):
    """The subscriber did not keep up."""


class Feed:
    """The newest events of one stream, read from the database once per wake-up and shared by its subscribers."""

    def __init__(self, hub: "EventHub", key: str | None, *, head: int, capacity: int) -> None:
        self.hub = hub
        self.key = key
        self.head = head  # the newest cursor read
        self.floor = head  # every event with floor < cursor <= head is in the buffer
        self.target = head  # the newest cursor announced
        self.capacity = capacity
        self.deleted = False
        self._missing = False
        self.subscribers: set[Subscription] = set()
        self._cursors: list[int] = []
        self._frames: list[Frame] = []
        self._refresh: asyncio.Task[None] | None = None

    def announce(self, cursor: int) -> None:
        """Events up to `cursor` are committed: read them unless already done or under way."""
        self.target = max(self.target, cursor)
        self.refresh()

    def refresh(self) -> None:
        """Read what is new, once, in the background."""
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._read_new(), name=f"feed-{self.key}")

    def frames_after(self, cursor: int, limit: int) -> list[Frame] | None:
        """Up to `limit` buffered frames after `cursor`, or None when the buffer no longer reaches back to it."""
        if cursor < self.floor:
            return None
        start = bisect.bisect_right(self._cursors, cursor)
        return self._frames[start : start + limit]

    def missing(self) -> None:
        """The project is gone (no `project.deleted` was seen): read what is left, then end its subscriptions."""
        if self.key is ALL or self.deleted or self._missing:
            return
        self._missing = True
        previous = self._refresh

        async def _read_then_mark() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await self._read_new(force=True)
            self._mark_deleted()

        self._refresh = asyncio.create_task(_read_then_mark())

    def _mark_deleted(self) -> None:
        self.deleted = True
        self.hub.forget(self)
        self._wake()

    def _wake(self) -> None:
        for subscription in self.subscribers:
            subscription.wake.set()

    def _append(self, frames: Iterable[Frame]) -> None:
        for frame in frames:
            self._cursors.append(frame.cursor)
            self._frames.append(frame)
            self.head = frame.cursor
            if frame.type == "project.deleted" and self.key is not ALL:
                self.deleted = True
        excess = len(self._frames) - self.capacity
        if excess > 0:
            self.floor = self._cursors[excess - 1]
            del self._cursors[:excess]
            del self._frames[:excess]

    async def _read_new(self, *, force: bool = False) -> None:
        try:
            while force or self.head < self.target:
                force = False
                try:
                    frames = await self.hub.read(self.key, self.head, self.capacity)
                except HistoryGone:
                    # Retention overtook this feed: start it over at the current head; subscribers find out.
                    frames = []
                    self._cursors, self._frames = [], []
                    self.head = self.floor = self.target = await self.hub.current_head(self.key)
                if not frames:
                    break
                self._append(frames)
                self._wake()
                if self.deleted:
                    self.hub.forget(self)
                    break
        except (SQLAlchemyError, OSError, NotFound) as exc:
            # The periodic re-check tries again; subscribers wait meanwhile, nothing is skipped.
            log.warning("event feed read failed", stream=self.key, error=type(exc).__name__)


class Subscription:
    """One subscriber: replays from the database after its cursor, then follows its feed."""

    def __init__(self, hub: "EventHub", feed: Feed, *, cursor: int) -> None:
        self.hub = hub
        self.feed = feed
        self.cursor = cursor
        self.delivered = 0
        self.live = False
        self.wake = asyncio.Event()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(hub.settings.queue_size)

    @property
    def stream(self) -> str:
        """'all' or the project id, for logs."""
        return "all" if self.feed.key is ALL else self.feed.key

    async def run(self, send: Callable[[str], Awaitable[None]]) -> Ending | None:
        """Deliver until the stream ends, the client lags or the hub stops (how to close), or the client leaves."""
        ending: Ending | None = None
        gone = False
        async with anyio.create_task_group() as group:

            async def sending() -> None:
                nonlocal gone
                try:
                    while (text := await self.queue.get()) is not None:
                        await send(text)
                except Exception:  # the client went away mid-send (disconnect, reset, closed socket)
                    gone = True
                group.cancel_scope.cancel()

            group.start_soon(sending)
            ending = await self._pump()
            if ending.code != CloseCode.TOO_SLOW:
                # What is queued (the last events, the control message) goes out before the close.
                with anyio.move_on_after(self.hub.settings.send_timeout_s):
                    await self.queue.put(None)
                    await anyio.sleep_forever()  # until `sending` has drained the queue and cancels the group
            group.cancel_scope.cancel()
        return None if gone else ending

    async def _enqueue(self, text: str) -> None:
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            try:
                await asyncio.wait_for(self.queue.put(text), self.hub.settings.send_timeout_s)
            except TimeoutError:
                raise TooSlow(f"no frame taken for {self.hub.settings.send_timeout_s:g} s") from None

    async def _pump(self) -> Ending:
        try:
            return await self._follow()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("events delivery failed", stream=self.stream, cursor=self.cursor, error=type(exc).__name__)
            return Ending(CloseCode.INTERNAL_ERROR, "server error: reconnect with your last seq")
        except TooSlow as exc:
            log.info("events subscriber too slow", stream=self.stream, cursor=self.cursor, why=str(exc))
            return Ending(CloseCode.TOO_SLOW, "too slow: resume from your last seq")
        except HistoryGone as exc:
            message = {"reason": "history_gone", "detail": exc.detail, **exc.extensions}
            await self._enqueue(control("reset", **message))
            return Ending(CloseCode.HISTORY_GONE, "history gone: reload", message)

    async def _follow(self) -> Ending:
        settings = self.hub.settings
        while True:
            if self.hub.stopping:
                return Ending(CloseCode.GOING_AWAY, "server shutting down")
            frames = self.feed.frames_after(self.cursor, settings.queue_size)
            if frames is None:
                if self.live:
                    raise TooSlow(f"more than {settings.max_lag} events behind")
                frames = await self.hub.read(self.feed.key, self.cursor, REPLAY_PAGE)
            else:
                self.live = True
            if frames:
                for frame in frames:
                    await self._enqueue(frame.text)
                    self.cursor = frame.cursor
                    self.delivered += 1
                    if frame.type == "project.deleted" and self.feed.key is not ALL:
                        return await self._project_deleted()
                continue
            if self.feed.deleted:
                return await self._project_deleted()
            self.wake.clear()
            if self.feed.head > self.cursor or self.hub.stopping:
                continue
            try:
                await asyncio.wait_for(self.wake.wait(), settings.heartbeat_s)
            except TimeoutError:
                await self._enqueue(control("heartbeat", head=self.cursor))

    async def _project_deleted(self) -> Ending:
        message = {"project_id": self.feed.key, "seq": self.cursor, "detail": "The project was deleted."}
        await self._enqueue(control("project_deleted", **message))
        return Ending(CloseCode.NOT_FOUND, "project deleted", message)


class EventHub:
    """This process's subscribers and their feeds; the DatabaseManager's listener hands it every commit's events."""

    def __init__(self, *, db: DatabaseManager, bus: EventBus, settings: StreamSettings | None = None) -> None:
        self.db = db
        self.bus = bus
        self.settings = settings or StreamSettings()
        self.stopping = False
        self.feeds: dict[str | None, Feed] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.Task[None] | None = None
        self._poll_now = asyncio.Event()
        self._published: set[asyncio.Task[None]] = set()

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen to commits and to the bus; re-check the database periodically."""
        self._loop = asyncio.get_running_loop()
        self.stopping = False
        await self.bus.start(self.deliver, self.resync)
        self.db.event_listeners.append(self.on_commit)
        self._poller = asyncio.create_task(self._poll_forever(), name="events-poll")

    async def stop(self) -> None:
        """End every subscription (1001), stop listening and release the bus."""
        self.stopping = True
        if self.on_commit in self.db.event_listeners:
            self.db.event_listeners.remove(self.on_commit)
        for feed in self.feeds.values():
            feed._wake()
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        await asyncio.gather(*self._published, return_exceptions=True)
        await self.bus.stop()

    # --- publishing ---------------------------------------------------------------------------------

    def on_commit(self, committed: list[EventRead]) -> None:
        """DatabaseManager listener (any thread, after a commit): announce the events on the bus."""
        newest: dict[str, WakeUp] = {}
        for event in committed:
            newest[event.project_id] = WakeUp(event.project_id, event.seq, event.position)
        log.info(
            "events committed",
            event_ids=[event.id for event in committed],
            seqs={project_id: wakeup.seq for project_id, wakeup in newest.items()},
            types=sorted({event.type for event in committed}),
        )
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._publish, list(newest.values()))
        except RuntimeError:  # the loop closed in between: nobody here is listening any more
            return

    def _publish(self, wakeups: list[WakeUp]) -> None:
        task = asyncio.create_task(self.bus.publish(wakeups))
        self._published.add(task)
        task.add_done_callback(self._published.discard)

    def deliver(self, wakeups: list[WakeUp]) -> None:
        """Wake the feeds the wake-ups concern (called on the loop by the bus)."""
        everything = self.feeds.get(ALL)
        for wakeup in wakeups:
            feed = self.feeds.get(wakeup.project_id)
            if feed is not None:
                feed.announce(wakeup.seq)
            if everything is not None:
                everything.announce(wakeup.position)

    def resync(self) -> None:
        """Wake-ups may have been missed (the bus reconnected): re-check the database now."""
        self._poll_now.set()

    # --- subscribing --------------------------------------------------------------------------------

    def subscribe(self, key: str | None, *, after: int, head: int) -> Subscription:
        """A subscription to a stream after `after`; `head` is the stream's newest cursor as just read."""
        feed = self.feeds.get(key)
        if feed is None:
            feed = self.feeds[key] = Feed(self, key, head=head, capacity=self.settings.max_lag)
            # Events committed between reading `head` and now announced nothing to this new feed: look.
            feed.refresh()
        subscription = Subscription(self, feed, cursor=after)
        feed.subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription; a feed nobody watches is dropped."""
        feed = subscription.feed
        feed.subscribers.discard(subscription)
        if not feed.subscribers and self.feeds.get(feed.key) is feed:
            del self.feeds[feed.key]

    def forget(self, feed: Feed) -> None:
        """A deleted project's feed serves its last subscribers but no new ones."""
        if self.feeds.get(feed.key) is feed:
            del self.feeds[feed.key]

    # --- database -----------------------------------------------------------------------------------

    async def read(self, key: str | None, after: int, limit: int) -> list[Frame]:
        """Events of the stream after a cursor, from the database (in a worker thread)."""

        def _read() -> list[Frame]:
            with self.db.read_session() as session:
                if key is ALL:
                    rows = event_log.read_all(session=session, after=after, limit=limit)
                else:
                    rows = event_log.read(session=session, project_id=key, after=after, limit=limit)
            return [event_frame(row, key) for row in rows]

        return await anyio.to_thread.run_sync(_read)

    async def current_head(self, key: str | None) -> int:
        """The stream's newest cursor in the database."""

        def _head() -> int:
            with self.db.read_session() as session:
                if key is ALL:
                    return event_log.global_head(session=session)
                return event_log.head(session=session, project_id=key)

        return await anyio.to_thread.run_sync(_head)

    async def poll(self) -> None:
        """Re-check every watched stream against the database and read whatever a lost wake-up left behind."""
        keys = [key for key in self.feeds if key is not ALL]
        watch_all = ALL in self.feeds

        def _heads() -> tuple[dict[str, int], int]:
            heads: dict[str, int] = {}
            with self.db.read_session() as session:
                for start in range(0, len(keys), _POLL_CHUNK):
                    chunk = keys[start : start + _POLL_CHUNK]
                    statement = select(ProjectDB.id, ProjectDB.event_seq).where(col(ProjectDB.id).in_(chunk))
                    heads.update(dict(session.exec(statement).all()))
                newest = event_log.global_head(session=session) if watch_all else 0
            return heads, newest

        heads, newest = await anyio.to_thread.run_sync(_heads)
        for key in keys:
            feed = self.feeds.get(key)
            if feed is None:
                continue
            if key in heads:
                feed.announce(heads[key])
            else:
                feed.missing()
        if watch_all and (everything := self.feeds.get(ALL)) is not None:
            everything.announce(newest)

    async def _poll_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poll_now.wait(), self.settings.poll_interval_s)
            self._poll_now.clear()
            if not self.feeds:
                continue
            try:
                await self.poll()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("event poll failed", error=type(exc).__name__)


def hub_from_settings(*, db: DatabaseManager, settings: Settings) -> EventHub:
    """The hub the settings describe: in-process fan-out, or Redis when GATEWAY_REDIS_URL is set."""
    bus = event_bus_from_url(settings.redis_url or "memory://", channel=settings.redis_channel)
    return EventHub(
        db=db,
        bus=bus,
        settings=StreamSettings(
            heartbeat_s=settings.events_heartbeat_s,
            poll_interval_s=settings.events_poll_interval_s,
            queue_size=settings.events_ws_queue_size,
            send_timeout_s=settings.events_ws_send_timeout_s,
            max_lag=settings.events_ws_max_lag,
        ),
    )


async def purge_forever(*, db: DatabaseManager, settings: Settings) -> None:
    """Apply the retention settings now and then every `events_purge_interval_s`."""
    older_than = timedelta(days=settings.events_retention_days) if settings.events_retention_days else None

    def _purge() -> int:
        with db.get_session() as session:
            return event_log.purge(
                session=session, older_than=older_than, keep_per_project=settings.events_retention_per_project
            )

    while True:
        try:
            await anyio.to_thread.run_sync(_purge)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("event purge failed", error=type(exc).__name__)
        await asyncio.sleep(settings.events_purge_interval_s)


@asynccontextmanager
async def serving(hub: EventHub, *, settings: Settings) -> AsyncIterator[EventHub]:
    """Run the hub (and retention, when configured) for the life of the app."""
    await hub.start()
    retention = settings.events_retention_days is not None or settings.events_retention_per_project is not None
    purger = asyncio.create_task(purge_forever(db=hub.db, settings=settings)) if retention else None
    try:
        yield hub
    finally:
        if purger is not None:
            purger.cancel()
            await asyncio.gather(purger, return_exceptions=True)
        await hub.stop()

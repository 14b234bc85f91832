"""Event fan-out between processes: a tiny bus that carries wake-ups, chosen by URL (`memory://`, `redis://`).

The database is the source of truth. The bus only says "project P has events up to seq N (global position
G)"; subscribers read the rows themselves after the last one they delivered. A lost wake-up therefore delays
an event but never loses it: every process also re-checks the database periodically and whenever its Redis
subscription (re)starts.
"""

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.app.logging import get_logger

log = get_logger(__name__)

_BACKOFF_FIRST_S = 0.05
_BACKOFF_MAX_S = 1.0


@dataclass(frozen=True)
class WakeUp:
    """Project `project_id` has committed events up to `seq`; the newest of them is at global `position`."""

    project_id: str
    seq: int
    position: int


Deliver = Callable[[list[WakeUp]], None]
Resync = Callable[[], None]


class EventBus(Protocol):
    """Carries wake-ups to every process of the deployment, this one included."""

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        """Begin delivering wake-ups to `deliver`; call `resync` when some may have been missed."""

    async def publish(self, wakeups: list[WakeUp]) -> None:
        """Announce committed events; never raises because another process is unreachable."""

    async def stop(self) -> None:
        """Stop delivering and release connections."""


class MemoryBus:
    """One process: wake-ups go straight to this process's subscribers."""

    def __init__(self) -> None:
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        """Begin delivering wake-ups."""
        self._deliver = deliver

    async def publish(self, wakeups: list[WakeUp]) -> None:
        """Deliver the wake-ups in this process."""
        if self._deliver is not None:
            self._deliver(wakeups)

    async def stop(self) -> None:
        """Stop delivering."""
        self._deliver = None


def _encode(origin: str, wakeups: list[WakeUp]) -> str:
    return json.dumps({"origin": origin, "wakeups": [[w.project_id, w.seq, w.position] for w in wakeups]})


def _decode(payload: Any) -> tuple[str, list[WakeUp]]:
    message = json.loads(payload)
    return str(message["origin"]), [WakeUp(str(p), int(s), int(g)) for p, s, g in message["wakeups"]]


class RedisBus:
    """Several processes: wake-ups are delivered here at once and published on a Redis pub/sub channel.

    Publishing happens in a background task that coalesces what is pending (one newest wake-up per project)
    and retries with backoff while Redis is unreachable, so a request never waits for or fails on Redis. The
    subscriber reconnects by itself and asks for a resync each time it is subscribed again.
    """

    def __init__(self, url: str, *, channel: str = "gateway:events") -> None:
        import redis.asyncio as aioredis  # imported lazily: only deployments with Redis need the package

        self.url = url
        self.channel = channel
        self.origin = uuid.uuid4().hex
        self._client = aioredis.Redis.from_url(url, socket_connect_timeout=1.0, socket_keepalive=True)
        self._pending: dict[str, WakeUp] = {}
        self._has_pending = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._deliver: Deliver | None = None
        self._resync: Resync | None = None
        self.connected = asyncio.Event()

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        """Deliver wake-ups from every process; publish this process's in the background."""
        self._deliver, self._resync = deliver, resync
        self._tasks = [
            asyncio.create_task(self._listen(), name="redis-bus-listen"),
            asyncio.create_task(self._publish_pending(), name="redis-bus-publish"),
        ]

    async def publish(self, wakeups: list[WakeUp]) -> None:
        """Deliver here now; queue the wake-ups for the other processes."""
        if self._deliver is not None:
            self._deliver(wakeups)
        for wakeup in wakeups:
            known = self._pending.get(wakeup.project_id)
            if known is None or wakeup.seq > known.seq:
                self._pending[wakeup.project_id] = wakeup
        self._has_pending.set()

    async def stop(self) -> None:
        """Cancel the background tasks and close the connections."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._deliver = None
        await self._client.aclose()

    async def _publish_pending(self) -> None:
        from redis.exceptions import RedisError

        backoff = _BACKOFF_FIRST_S
        while True:
            await self._has_pending.wait()
            self._has_pending.clear()
            batch, self._pending = list(self._pending.values()), {}
            try:
                await self._client.publish(self.channel, _encode(self.origin, batch))
                backoff = _BACKOFF_FIRST_S
            except (RedisError, OSError) as exc:
                # Keep them (newer ones win) and try again: the other processes' resync covers the gap anyway.
                for wakeup in batch:
                    self._pending.setdefault(wakeup.project_id, wakeup)
                self._has_pending.set()
                log.warning("event bus publish failed; retrying", error=str(exc) or type(exc).__name__, retry_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)

    async def _listen(self) -> None:
        from redis.exceptions import RedisError

        backoff = _BACKOFF_FIRST_S
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    backoff = _BACKOFF_FIRST_S
                    self._on_message(message)
            except (RedisError, OSError) as exc:
                self.connected.clear()
                log.warning("event bus subscription lost; reconnecting", error=str(exc) or type(exc).__name__)
            finally:
                await pubsub.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX_S)

    def _on_message(self, message: dict[str, Any]) -> None:
        if message["type"] == "subscribe":
            # (Re)subscribed: whatever was published while we were not is read from the database now.
            self.connected.set()
            log.info("event bus subscribed", channel=self.channel)
            if self._resync is not None:
                self._resync()
            return
        if message["type"] != "message" or self._deliver is None:
            return
        try:
            origin, wakeups = _decode(message["data"])
        except (ValueError, KeyError, TypeError):
            log.warning("event bus ignored a malformed message", channel=self.channel)
            return
        if origin != self.origin:
            self._deliver(wakeups)


def event_bus_from_url(url: str, *, channel: str = "gateway:events") -> EventBus:
    """The bus for a URL: `memory://` (one process) or `redis://…`/`rediss://…` (several)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme == "memory":
        return MemoryBus()
    if scheme in {"redis", "rediss", "unix"}:
        return RedisBus(url, channel=channel)
    raise ValueError(f"unsupported event bus URL scheme {scheme!r} (use memory:// or redis://)")

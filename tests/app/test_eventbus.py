"""gateway/app/eventbus.py: wake-ups in one process, and across processes through Redis (also while it is away)."""

import time
from urllib.parse import urlsplit

import anyio
import pytest

from gateway.app.eventbus import MemoryBus, RedisBus, WakeUp, event_bus_from_url
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    """A bus's deliver and resync callbacks, remembering what they were given."""

    def __init__(self) -> None:
        self.wakeups: list[WakeUp] = []
        self.resyncs = 0

    def deliver(self, wakeups: list[WakeUp]) -> None:
        self.wakeups.extend(wakeups)

    def resync(self) -> None:
        self.resyncs += 1


async def eventually(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await anyio.sleep(0.02)


def test_the_url_chooses_the_bus():
    assert isinstance(event_bus_from_url("memory://"), MemoryBus)
    bus = event_bus_from_url("redis://127.0.0.1:1/0", channel="c")
    assert isinstance(bus, RedisBus)
    assert bus.channel == "c"
    with pytest.raises(ValueError, match="unsupported"):
        event_bus_from_url("kafka://somewhere")


async def test_the_memory_bus_delivers_in_this_process():
    bus, seen = MemoryBus(), Recorder()
    await bus.start(seen.deliver, seen.resync)
    await bus.publish([WakeUp("p", 3, 7)])
    await bus.stop()
    await bus.publish([WakeUp("p", 4, 8)])  # stopped: delivered nowhere
    assert seen.wakeups == [WakeUp("p", 3, 7)]


async def test_redis_carries_wake_ups_to_the_other_processes(redis_server_url, redis_channel):
    here, there = Recorder(), Recorder()
    a = RedisBus(redis_server_url, channel=redis_channel)
    b = RedisBus(redis_server_url, channel=redis_channel)
    await a.start(here.deliver, here.resync)
    await b.start(there.deliver, there.resync)
    try:
        await eventually(lambda: a.connected.is_set() and b.connected.is_set())
        await a.publish([WakeUp("p", 1, 1), WakeUp("q", 5, 2)])
        assert here.wakeups == [WakeUp("p", 1, 1), WakeUp("q", 5, 2)]  # at once, without a round trip
        await eventually(lambda: len(there.wakeups) == 2)
        assert there.wakeups == [WakeUp("p", 1, 1), WakeUp("q", 5, 2)]
        await anyio.sleep(0.2)
        assert len(here.wakeups) == 2  # its own message is not delivered twice
        assert here.resyncs == there.resyncs == 1  # once subscribed
    finally:
        await a.stop()
        await b.stop()


async def test_redis_unreachable_delays_wake_ups_but_loses_nothing(redis_server_url, redis_channel):
    target = urlsplit(redis_server_url)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 6379) as proxy:
        proxied = f"redis://127.0.0.1:{proxy.port}{target.path}"
        sender_seen, receiver_seen = Recorder(), Recorder()
        sender = RedisBus(proxied, channel=redis_channel)
        receiver = RedisBus(proxied, channel=redis_channel)
        await sender.start(sender_seen.deliver, sender_seen.resync)
        await receiver.start(receiver_seen.deliver, receiver_seen.resync)
        try:
            await eventually(lambda: sender.connected.is_set() and receiver.connected.is_set())
            proxy.cut()
            await eventually(lambda: not receiver.connected.is_set())
            # Publishing while Redis is away neither raises nor blocks; the wake-up waits for the way back.
            with anyio.fail_after(1):
                await sender.publish([WakeUp("p", 1, 1)])
                await sender.publish([WakeUp("p", 2, 2)])
            await anyio.sleep(0.3)
            assert receiver_seen.wakeups == []
            resyncs = receiver_seen.resyncs
            proxy.restore()
            await eventually(lambda: receiver_seen.resyncs > resyncs)  # re-subscribed: it re-reads the database
            await eventually(lambda: WakeUp("p", 2, 2) in receiver_seen.wakeups)
            assert WakeUp("p", 1, 1) not in receiver_seen.wakeups  # coalesced: the newest per project
        finally:
            await sender.stop()
            await receiver.stop()


async def test_a_malformed_message_on_the_channel_is_ignored(redis_server_url, redis_channel):
    import redis.asyncio as aioredis

    seen = Recorder()
    bus = RedisBus(redis_server_url, channel=redis_channel)
    await bus.start(seen.deliver, seen.resync)
    client = aioredis.Redis.from_url(redis_server_url)
    try:
        await eventually(bus.connected.is_set)
        await client.publish(redis_channel, "not json")
        await client.publish(redis_channel, '{"origin": "other", "wakeups": [["p", 1, 1]]}')
        await eventually(lambda: seen.wakeups == [WakeUp("p", 1, 1)])
    finally:
        await client.aclose()
        await bus.stop()

"""The wait cycle of deadlock_anyio_streams and wake_anyio_stream: 'ping' and 'pong' each
wait to receive on an anyio memory object stream of their own and would then send on the
other's. Each holds the only send end of the other's stream; whether that is a deadlock
depends on what else holds an end: each scenario says."""
import anyio

import oracle

STATES = []


def ready():
    """Both relays wait to receive."""
    return len(STATES) == 2 and all(len(s.waiting_receivers) == 1 for s in STATES)


async def relay(inbox, outbox):
    """Receive one item, then pass it on."""
    item = await inbox.receive()
    await outbox.send(item)


def start(loop, ping_waker=None):
    """Register both streams' state with the oracle and start 'ping' and 'pong'; returns the
    two tasks. `ping_waker(end)`, given a clone of the send end of ping's stream, makes an
    outside waker of it and returns it (for the oracle)."""
    to_ping, ping_inbox = anyio.create_memory_object_stream(1)
    to_pong, pong_inbox = anyio.create_memory_object_stream(1)
    outside = [ping_waker(to_ping.clone())] if ping_waker else []
    STATES.extend([
        oracle.resource(ping_inbox._state, holder=None, wakers=["pong"] + outside),
        oracle.resource(pong_inbox._state, holder=None, wakers=["ping"]),
    ])
    return [
        oracle.named(loop.create_task(relay(ping_inbox, to_pong), name="ping")),
        oracle.named(loop.create_task(relay(pong_inbox, to_ping), name="pong")),
    ]

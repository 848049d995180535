"""websockets, both ends in one program, each waiting in recv() for a message the other never
sends: the server's connection handler ('server-recv') and the client ('client-recv'). Each
chain ends in a bare future of the library's own message queue, past its own
websockets/asyncio/ frames (not asyncio's: the await site is the library's). A real library,
installed by scripts/setup under target/pydeps."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asyncio  # noqa: E402

from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import serve  # noqa: E402

import oracle  # noqa: E402

# From 3.8: scripts/setup installs the (pinned) libraries of these scenarios for 3.8 on.
MIN_VERSION = (3, 8)
# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = {
    # websockets 13-16 (CPython 3.8-3.10) run a connection's handler in conn_handler.
    (3, 6): [
        ("main", ["main"], "Future"),
        ("client-recv", ["client", "recv", "get", "get"], "Future"),
        ("server-recv", ["conn_handler", "handler", "recv", "get", "get"], "Future"),
    ],
    (3, 11): [
        ("main", ["main"], "Future"),
        ("client-recv", ["client", "recv", "get", "get"], "Future"),
        ("server-recv", ["protocol_handler", "handler", "recv", "get", "get"], "Future"),
    ],
}
# The oracle's graph: entries per section.
EXPECT_GRAPH = {"waits": 3, "links": {"shield": 1}}

WAITING = []


def ready():
    """Both ends wait in recv()."""
    return len(WAITING) == 2


async def handler(ws):
    me = asyncio.current_task()
    me.set_name("server-recv")
    oracle.named(me)
    WAITING.append(ws)
    await ws.recv()


async def client(uri):
    async with connect(uri, ping_interval=None) as ws:
        WAITING.append(ws)
        return await ws.recv()


async def main():
    server = oracle.keep(await serve(handler, "127.0.0.1", 0, ping_interval=None))
    port = list(server.sockets)[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    uri = "ws://127.0.0.1:%d/" % port
    task = oracle.named(loop.create_task(client(uri), name="client-recv"))
    await asyncio.shield(task)


if __name__ == "__main__":
    oracle.run(main, ready=ready)

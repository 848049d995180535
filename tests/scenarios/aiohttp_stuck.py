"""aiohttp, server and client in one program: the client ('client') sent a request and waits
for the response headers; the server's handler for it ('handler') waits on an Event nobody
sets. The client's chain ends in a bare future of aiohttp's ResponseHandler (its protocol),
which leads to the client's socket, connected to the server; the server's connection task
awaits the handler's task. A real library, installed by scripts/setup under target/pydeps."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asyncio  # noqa: E402

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

import oracle  # noqa: E402

# From 3.8: scripts/setup installs the (pinned) libraries of these scenarios for 3.8 on.
MIN_VERSION = (3, 8)
# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = {
    # aiohttp 3.10 (the last for CPython 3.8) sends the request from _request itself.
    (3, 6): [
        ("main", ["main"], "Future"),
        ("client", ["fetch", "__aenter__", "_request", "start", "read"], "Future"),
        ("handler", ["_handle_request", "_handle", "handle", "wait"], "Future"),
        (None, ["start"], "Task"),
    ],
    (3, 9): [
        ("main", ["main"], "Future"),
        ("client", ["fetch", "__aenter__", "_request", "_connect_and_send_request", "start",
                    "read"], "Future"),
        ("handler", ["_handle_request", "_handle", "handle", "wait"], "Future"),
        (None, ["start"], "Task"),
    ],
}
# The oracle's graph: entries per section, and each registered primitive's (type,
# holders, wakers) by task name.
EXPECT_GRAPH = {"resources": 1, "waits": 3, "links": {"shield": 1}}
EXPECT_PRIMITIVES = [("Event", [], None)]

STUCK = []
CLIENT = []


def ready():
    """The handler waits on the event, the client for its response."""
    return bool(STUCK) and len(STUCK[0]._waiters) == 1 and bool(CLIENT) and \
        CLIENT[0]._fut_waiter is not None


async def handle(request):
    me = asyncio.current_task()
    me.set_name("handler")
    oracle.named(me)
    await STUCK[0].wait()
    return web.Response(text="never")


async def fetch(session, url):
    async with session.get(url) as response:
        return await response.text()


async def main():
    STUCK.append(oracle.resource(asyncio.Event(), holders=[]))
    app = web.Application()
    app.router.add_get("/", handle)
    runner = oracle.keep(web.AppRunner(app, access_log=None))
    await runner.setup()
    site = oracle.keep(web.TCPSite(runner, "127.0.0.1", 0))
    await site.start()
    port = runner.addresses[0][1]
    session = oracle.keep(aiohttp.ClientSession())
    url = "http://127.0.0.1:%d/" % port
    loop = asyncio.get_running_loop()
    client = oracle.named(loop.create_task(fetch(session, url), name="client"))
    CLIENT.append(client)
    await asyncio.shield(client)


if __name__ == "__main__":
    oracle.run(main, ready=ready)

"""A starlette app served by uvicorn with a request in flight whose endpoint is stuck: the
endpoint ('endpoint', the task uvicorn runs the request in) waits on an Event nobody sets,
under uvicorn's and starlette's own frames; the client ('client') sent the request over a
plain asyncio stream and waits for the response line on it. uvicorn is started without its
once-a-tenth-of-a-second main loop, which would keep the program from being stuck. Real
libraries, installed by scripts/setup under target/pydeps."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asyncio  # noqa: E402

import uvicorn  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

import oracle  # noqa: E402

# From 3.8: scripts/setup installs the (pinned) libraries of these scenarios for 3.8 on.
MIN_VERSION = (3, 8)
# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "Future"),
    ("client", ["client", "readline", "readuntil", "_wait_for_data"], "Future"),
    # uvicorn's request cycle, its proxy and error middleware, starlette's exception
    # middleware, router and route, then the endpoint.
    ("endpoint", ["run_asgi", "__call__", "__call__", "__call__", "__call__", "wrapped_app",
                  "__call__", "app", "handle", "app", "wrapped_app", "app", "endpoint",
                  "wait"], "Future"),
]
# The oracle's graph: entries per section, and each registered primitive's (type,
# holders, wakers) by task name.
EXPECT_GRAPH = {"resources": 1, "waits": 2, "io": 1, "links": {"shield": 1}}
EXPECT_PRIMITIVES = [("Event", [], None)]

STUCK = []
CLIENT = []
READERS = []


async def endpoint(request):
    me = asyncio.current_task()
    me.set_name("endpoint")
    oracle.named(me)
    await STUCK[0].wait()
    return PlainTextResponse("never")


def ready():
    """The endpoint waits on the event, the client for the response line."""
    if not STUCK or len(STUCK[0]._waiters) != 1 or not CLIENT:
        return False
    chain = oracle.chain_objects(oracle.coro_of(CLIENT[0]))
    if not chain or getattr(chain[-1], "__name__", "") != "_wait_for_data":
        return False
    if not READERS[1:]:
        READERS.append(oracle.io_wait(CLIENT[0], READERS[0], "stream"))
    return True


async def client(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    oracle.keep(writer)
    READERS.append(reader)
    writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    return await reader.readline()


async def main():
    STUCK.append(oracle.resource(asyncio.Event(), holders=[]))
    app = Starlette(routes=[Route("/", endpoint)])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="error",
                            http="h11", loop="asyncio")
    server = oracle.keep(uvicorn.Server(config))
    # What Server.serve() does before its main loop.
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup()
    port = server.servers[0].sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    task = oracle.named(loop.create_task(client(port), name="client"))
    CLIENT.append(task)
    await asyncio.shield(task)


if __name__ == "__main__":
    oracle.run(main, ready=ready)

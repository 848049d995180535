"""redis-py's asyncio client ('redis-get') against a local listener that accepts and never
answers, as a Redis server that hangs would: the client sent its command and waits for the
reply, inside the library's own redis/asyncio/ frames, on the asyncio stream of its
connection's socket. A real library, installed by scripts/setup under target/pydeps."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asyncio  # noqa: E402

import redis.asyncio  # noqa: E402

import oracle  # noqa: E402

# From 3.8: scripts/setup installs the (pinned) libraries of these scenarios for 3.8 on.
MIN_VERSION = (3, 8)
# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
_READ = ["_read_response", "_readline", "readline", "readuntil", "_wait_for_data"]
EXPECT_SHAPES = {
    # redis-py 6 and 7 (CPython 3.8, 3.9) speak RESP2 and retry outside the connection.
    (3, 6): [
        ("main", ["main"], "Future"),
        ("redis-get", ["get", "execute_command", "get_connection", "ensure_connection",
                       "connect", "connect_check_health", "on_connect_check_health",
                       "read_response", "read_response"] + _READ, "Future"),
    ],
    (3, 10): [
        ("main", ["main"], "Future"),
        ("redis-get", ["get", "execute_command", "async_wrapper", "get_connection",
                       "ensure_connection", "connect", "call_with_retry",
                       "connect_check_health", "on_connect_check_health", "read_response",
                       "_read_response_from_parser", "read_response"] + _READ, "Future"),
    ],
}
# The oracle's graph: entries per section.
EXPECT_GRAPH = {"waits": 2, "io": 1, "links": {"shield": 1}}

ACCEPTED = []


class Silent(asyncio.Protocol):
    """The server side: reads what it is sent, and never answers."""

    def connection_made(self, transport):
        ACCEPTED.append(transport)

    def data_received(self, data):
        ACCEPTED.append(data)


TASKS = []
CLIENTS = []
READERS = []


def ready():
    """The client's command reached the listener, and the client waits for the reply in its
    stream's readline()."""
    if not TASKS or not any(isinstance(a, bytes) for a in ACCEPTED):
        return False
    chain = oracle.chain_objects(oracle.coro_of(TASKS[0]))
    if not chain or getattr(chain[-1], "__name__", "") != "_wait_for_data":
        return False
    if not READERS:
        # The connection's asyncio stream, which the oracle checks the wait against.
        connection = next(iter(CLIENTS[0].connection_pool._in_use_connections))
        READERS.append(oracle.io_wait(TASKS[0], connection._reader, "stream"))
    return True


async def get(client):
    return await client.get("answer")


async def main():
    loop = asyncio.get_running_loop()
    server = oracle.keep(await loop.create_server(Silent, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    # No read timeout (redis-py's default is a few seconds): stuck for good, as under the
    # defaults of redis-py before 6.
    client = oracle.keep(redis.asyncio.Redis(host="127.0.0.1", port=port, socket_timeout=None,
                                             socket_connect_timeout=None))
    CLIENTS.append(client)
    task = oracle.named(loop.create_task(get(client), name="redis-get"))
    TASKS.append(task)
    await asyncio.shield(task)


if __name__ == "__main__":
    oracle.run(main, ready=ready)

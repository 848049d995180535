"""A client protocol waiting for a reply that never comes, as an HTTP client's is: its
read() awaits a bare future of its own while its transport's socket, connected to a local
server that never writes, is watched for reading. What the future belongs to leads to the
socket: its fd and both addresses."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "Future"),
    ("client", ["request", "read"], "Future"),
]


CLIENT = []


def ready():
    """The client waits for its reply."""
    return bool(CLIENT) and CLIENT[0]._waiter is not None


class Silent(asyncio.Protocol):
    """The server side: accepts, and never answers."""


class ClientProtocol(asyncio.Protocol):
    def __init__(self):
        self.transport = None
        self._waiter = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(data)

    async def read(self):
        self._waiter = asyncio.get_running_loop().create_future()
        return await self._waiter


async def request(proto):
    proto.transport.write(b"GET / HTTP/1.0\r\n\r\n")
    return await proto.read()


async def main():
    loop = asyncio.get_running_loop()
    server = oracle.keep(await loop.create_server(Silent, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    _, proto = await loop.create_connection(ClientProtocol, "127.0.0.1", port)
    CLIENT.append(oracle.keep(proto))
    client = oracle.named(loop.create_task(request(proto), name="client"))
    await asyncio.shield(client)


if __name__ == "__main__":
    oracle.run(main, ready=ready)

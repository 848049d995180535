"""Waits on the outside world: a stream read from a peer that never writes, a raw
`loop.sock_recv`, and a child process that does not exit."""
import asyncio
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

TASKS = []


def ready():
    """The three waiting tasks exist and are blocked (not the set-up in main)."""
    return len(TASKS) == 3 and all(t._fut_waiter is not None for t in TASKS)


async def read_line(reader):
    return await reader.readline()


async def recv(loop, sock):
    return await loop.sock_recv(sock, 1024)


async def wait_child(proc):
    return await proc.wait()


async def main():
    loop = asyncio.get_running_loop()
    server = oracle.keep(await asyncio.start_server(lambda r, w: oracle.keep((r, w)), "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    oracle.keep((reader, writer))
    a, b = socket.socketpair()
    a.setblocking(False)
    oracle.keep((a, b))
    proc = oracle.keep(await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(3600)"))
    tasks = [
        oracle.named(loop.create_task(read_line(reader), name="stream")),
        oracle.named(loop.create_task(recv(loop, a), name="socket")),
        oracle.named(loop.create_task(wait_child(proc), name="child")),
    ]
    TASKS.extend(tasks)
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, ready=ready)

"""Waits on the outside world: a stream read from a peer that never writes, a raw
`loop.sock_recv`, a `loop.sock_sendall` to a peer that never reads (its buffer
full), and a child process that does not exit."""
import asyncio
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

TASKS = []


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = {
    # 3.6: sock_recv and sock_sendall return futures, not coroutines.
    (3, 6): [
        ("main", ["main"], "_GatheringFuture"),
        ("stream", ["read_line", "readline", "readuntil", "_wait_for_data"], "Future"),
        ("socket", ["recv"], "Future"),
        ("send", ["send"], "Future"),
        ("child", ["wait_child", "wait", "_wait"], "Future"),
    ],
    (3, 7): [
        ("main", ["main"], "_GatheringFuture"),
        ("stream", ["read_line", "readline", "readuntil", "_wait_for_data"], "Future"),
        ("socket", ["recv", "sock_recv"], "Future"),
        ("send", ["send", "sock_sendall"], "Future"),
        ("child", ["wait_child", "wait", "_wait"], "Future"),
    ],
}
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "waits": 5, "io": 4}
EXPECT_PRIMITIVES = []
# Threads not checked: up to 3.11 the child watcher waits for the subprocess in one.
IGNORE_THREADS = "waitpid"


def ready():
    """The three waiting tasks exist and are blocked (not the set-up in main)."""
    return len(TASKS) == 4 and all(t._fut_waiter is not None for t in TASKS)


async def read_line(reader):
    return await reader.readline()


async def recv(loop, sock):
    return await loop.sock_recv(sock, 1024)


async def send(loop, sock):
    # More than any socket buffer holds: the rest waits for the selector.
    return await loop.sock_sendall(sock, b"x" * (16 << 20))


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
    c, d = socket.socketpair()
    c.setblocking(False)
    oracle.keep((c, d))
    proc = oracle.keep(await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(3600)"))
    tasks = [
        oracle.named(loop.create_task(read_line(reader), name="stream")),
        oracle.named(loop.create_task(recv(loop, a), name="socket")),
        oracle.named(loop.create_task(send(loop, c), name="send")),
        oracle.named(loop.create_task(wait_child(proc), name="child")),
    ]
    TASKS.extend(tasks)
    oracle.io_wait(tasks[0], reader, "stream")
    oracle.io_wait(tasks[1], a, "socket")
    oracle.io_wait(tasks[2], c, "socket", edge="write")
    oracle.io_wait(tasks[3], proc, "subprocess")
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, ready=ready)

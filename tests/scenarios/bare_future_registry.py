"""Bare futures that only something outside the chain keeps, as request/response code
does: a module's registry of pending requests (`PENDING[key] = fut; await fut`), a global
future, a list on an object only a global names, a registry nested in dicts and lists, a
deque on an object, and a set only a closure keeps (nothing names it). Each is awaited by a
plain function whose frames hold nothing else that explains it."""
import asyncio
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("request", ["call", "request"], "Future"),
    ("global", ["wait_global"], "Future"),
    ("broker", ["subscribe"], "Future"),
    ("nested", ["nested"], "Future"),
    ("queued", ["enqueue"], "Future"),
    ("closure", ["hidden"], "Future"),
]

PENDING = {}  # request id -> the future its reply will complete
REPLY = None
REGISTRY = {"jobs": {"build": []}}


class Broker:
    def __init__(self):
        self.waiters = []
        self.backlog = collections.deque()


BROKER = Broker()


async def request(key):
    fut = asyncio.get_running_loop().create_future()
    PENDING[key] = fut
    return await fut


async def call(key):
    return await request(key)


async def wait_global():
    global REPLY
    REPLY = asyncio.get_running_loop().create_future()
    return await REPLY


async def subscribe():
    fut = asyncio.get_running_loop().create_future()
    BROKER.waiters.append(fut)
    return await fut


async def nested():
    fut = asyncio.get_running_loop().create_future()
    REGISTRY["jobs"]["build"].append(fut)
    return await fut


async def enqueue():
    fut = asyncio.get_running_loop().create_future()
    BROKER.backlog.append(fut)
    return await fut


def make_hidden():
    waiting = set()

    async def hidden():
        fut = asyncio.get_running_loop().create_future()
        waiting.add(fut)
        return await fut

    return hidden


async def main():
    loop = asyncio.get_running_loop()
    await asyncio.gather(
        oracle.named(loop.create_task(call("req-1"), name="request")),
        oracle.named(loop.create_task(wait_global(), name="global")),
        oracle.named(loop.create_task(subscribe(), name="broker")),
        oracle.named(loop.create_task(nested(), name="nested")),
        oracle.named(loop.create_task(enqueue(), name="queued")),
        oracle.named(loop.create_task(make_hidden()(), name="closure")),
    )


if __name__ == "__main__":
    oracle.run(main)

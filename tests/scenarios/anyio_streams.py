"""anyio memory object streams on asyncio, not deadlocked: 'sender' waits in send() on a
stream with no buffer, 'reader' in receive() on another; 'drain' holds the receive end of
the first and the send end of the second, and after an hour's sleep receives from one and
sends on the other. The stream's state is typed by its module and class; a waiter in
send() waits on it to take an item (put), one in receive() to give one (get); what holds
the other end and calls receive()/send() later could wake it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asyncio  # noqa: E402

import anyio  # noqa: E402

import oracle  # noqa: E402

MIN_VERSION = (3, 10)

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = [
    ("main", ["main"], "_GatheringFuture"),
    ("sender", ["push", "send", "wait", "wait"], "Future"),
    ("drain", ["drain", "sleep"], "Future"),
    ("reader", ["read", "receive", "wait", "wait"], "Future"),
]
# The oracle's graph: entries per section, and each registered primitive's (type,
# holders, wakers) by task name.
EXPECT_GRAPH = {"gathers": 1, "resources": 2, "timers": 1, "waits": 1}
EXPECT_PRIMITIVES = [
    ("_MemoryObjectStreamState", [], ["drain"]),
    ("_MemoryObjectStreamState", [], ["drain"]),
]

STATES = []


def ready():
    """The sender waits to send, the reader to receive."""
    return len(STATES) == 2 and len(STATES[0].waiting_senders) == 1 and \
        len(STATES[1].waiting_receivers) == 1


async def push(outbox):
    await outbox.send("item")


async def drain(inbox, outbox):
    await asyncio.sleep(3600)
    await outbox.send(await inbox.receive())


async def read(inbox):
    return await inbox.receive()


async def main():
    loop = asyncio.get_running_loop()
    to_drain, drain_inbox = anyio.create_memory_object_stream(0)
    to_reader, reader_inbox = anyio.create_memory_object_stream(1)
    STATES.extend([
        oracle.resource(drain_inbox._state, holder=None, wakers=["drain"]),
        oracle.resource(reader_inbox._state, holder=None, wakers=["drain"]),
    ])
    sender = oracle.named(loop.create_task(push(to_drain), name="sender"))
    drainer = oracle.named(loop.create_task(drain(drain_inbox, to_reader), name="drain"))
    reader = oracle.named(loop.create_task(read(reader_inbox), name="reader"))
    del to_drain, to_reader, drain_inbox, reader_inbox
    await asyncio.gather(sender, drainer, reader)


if __name__ == "__main__":
    oracle.run(main, ready=ready)

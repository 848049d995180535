"""The README's demo: a small service that hangs the way real ones do.

- `fetcher` holds the cache lock while it waits for a `ready` Event nobody will set;
- two `handler` tasks queue up behind that lock;
- `worker` tasks wait on an empty job queue (the producer died);
- `main` gathers them all, so it never returns.
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {"gathers": 1, "resources": 3, "waits": 1}
EXPECT_PRIMITIVES = [("Lock", ["fetcher"], None), ("Event", [], None), ("Queue", [], None)]


async def refresh_cache(lock, ready):
    async with lock:
        await ready.wait()


async def fetcher(lock, ready):
    await refresh_cache(lock, ready)


async def lookup(lock, key):
    async with lock:
        return key


async def handler(lock, key):
    return await lookup(lock, key)


async def worker(jobs):
    while True:
        job = await jobs.get()
        jobs.task_done()
        del job


async def main():
    loop = asyncio.get_running_loop()
    lock = oracle.resource(asyncio.Lock(), holder="fetcher")
    ready = oracle.resource(asyncio.Event(), holder=None)
    jobs = oracle.resource(asyncio.Queue(), holder=None)
    tasks = [oracle.named(loop.create_task(fetcher(lock, ready), name="fetcher"))]
    tasks += [oracle.named(loop.create_task(handler(lock, k), name="handler-%d" % k)) for k in (1, 2)]
    tasks += [oracle.named(loop.create_task(worker(jobs), name="worker-%d" % i)) for i in (1, 2)]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main)

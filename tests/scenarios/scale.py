"""Server-shaped workloads for scale: AW_SHAPE picks one, AW_TASKS (default 20) sizes it.

  shared  every task waits on one Event, a module global: handler -> serve -> step -> wait
  passed  the same, with the Event passed down as an argument (a local of every frame)
  own     every task waits on an Event of its own, passed down
  locks   N/2 tasks each hold a Lock of their own (waiting on a global Event inside
          `async with`), each with one more task queued on it
  server  a mixed server: per-connection wait_for(own Event, 3600), a Semaphore(10) whose
          holders sleep with a queue of waiters, and sleep timers
  all     (default) every shape above in one process, AW_TASKS tasks each: the matrix
          decodes this one against the oracle.

bench/scale.sh runs one shape at 1,000 to 100,000 tasks; AW_BENCH=1 registers no
resources with the oracle (its graph section would cost the bench minutes)."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

COUNT = int(os.environ.get("AW_TASKS", "20"))
SHAPE = os.environ.get("AW_SHAPE", "all")
BENCH = os.environ.get("AW_BENCH") == "1"
SHAPES = ("shared", "passed", "own", "locks", "server")

NEVER = None  # the global Event of the shared and locks shapes
LOCKS = []
SEMAPHORES = []


def resource(obj, **who):
    return oracle.keep(obj) if BENCH else oracle.resource(obj, **who)


def ready():
    """Every lock holder holds its lock and every lock has its waiter queued."""
    return all(lock.locked() and len(lock._waiters or ()) == 1 for lock in LOCKS) and \
        all(len(sem._waiters or ()) == n for sem, n in SEMAPHORES)


# shared: the Event is a global, no frame holds it.
async def shared_step():
    await NEVER.wait()


async def shared_serve():
    await shared_step()


async def shared_handler():
    await shared_serve()


# passed and own: the Event travels down as an argument.
async def step(ev):
    await ev.wait()


async def serve(ev):
    await step(ev)


async def handler(ev):
    await serve(ev)


# locks
async def hold(lock):
    async with lock:
        await NEVER.wait()


async def queue_on(lock):
    async with lock:
        pass


# server
async def connection(ev):
    await asyncio.wait_for(ev.wait(), 3600)


async def worker(sem):
    async with sem:
        await asyncio.sleep(3600)


async def ticker(i):
    await asyncio.sleep(3600 + i)


def spawn(loop, coro):
    return oracle.keep(loop.create_task(coro))


def start(loop, shape, n):
    if shape == "shared":
        for _ in range(n):
            spawn(loop, shared_handler())
    elif shape == "passed":
        ev = resource(asyncio.Event(), holder=None)
        for _ in range(n):
            spawn(loop, handler(ev))
    elif shape == "own":
        for _ in range(n):
            spawn(loop, handler(resource(asyncio.Event(), holder=None)))
    elif shape == "locks":
        for _ in range(max(n // 2, 1)):
            lock = asyncio.Lock()
            LOCKS.append(lock)
            holder = spawn(loop, hold(lock))
            resource(lock, holder=holder)
            spawn(loop, queue_on(lock))
    elif shape == "server":
        sem = asyncio.Semaphore(10)
        holders = [spawn(loop, worker(sem)) for _ in range(min(10, n))]
        resource(sem, holders=holders)
        rest = n - len(holders)
        queued = rest // 5
        SEMAPHORES.append((sem, queued))
        for _ in range(queued):
            spawn(loop, worker(sem))
        timers = rest // 5
        for i in range(timers):
            spawn(loop, ticker(i))
        for _ in range(rest - queued - timers):
            spawn(loop, connection(resource(asyncio.Event(), holder=None)))
    else:
        sys.exit("AW_SHAPE: expected one of %s or all, got %r" % (", ".join(SHAPES), shape))


async def main():
    global NEVER
    loop = asyncio.get_running_loop()
    NEVER = resource(asyncio.Event(), holder=None)
    for shape in SHAPES if SHAPE == "all" else (SHAPE,):
        start(loop, shape, COUNT)
    await NEVER.wait()


if __name__ == "__main__":
    oracle.run(main, ready=ready)

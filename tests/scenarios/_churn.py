"""Helper of tests/e2e/nonblocking.py, not a matrix scenario: a server that makes and
finishes thousands of tasks a second (batches of short-lived tasks, gathered), beside three
tasks that wait for ever ('stuck-0'..'stuck-2'). Writes the file given once it churns."""
import asyncio
import sys


async def short(i):
    await asyncio.sleep(0)
    return i


async def stuck(event):
    await event.wait()


async def main(ready_path):
    event = asyncio.Event()
    keep = [asyncio.create_task(stuck(event), name="stuck-%d" % i) for i in range(3)]
    batches = 0
    while True:
        await asyncio.gather(*(asyncio.create_task(short(i)) for i in range(200)))
        batches += 1
        if batches == 20:
            with open(ready_path, "w") as f:
                f.write("%d\n" % len(keep))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

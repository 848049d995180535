"""Task subclasses: MyTask(asyncio.Task) installed as the task factory (so
the main task is a MyTask) and created directly, and MyPyTask, a subclass of
the pure-Python asyncio.tasks._PyTask."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


class MyTask(asyncio.Task):
    pass


class MyPyTask(asyncio.tasks._PyTask):
    pass


def factory(loop, coro, **kwargs):
    return MyTask(coro, loop=loop, **kwargs)


async def sleeper():
    await asyncio.sleep(3600)


async def main():
    loop = asyncio.get_running_loop()
    tasks = [
        oracle.named(loop.create_task(sleeper(), name="via-factory")),
        oracle.named(MyTask(sleeper(), loop=loop, name="direct")),
        oracle.named(MyPyTask(sleeper(), loop=loop, name="py-subclass")),
    ]
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    oracle.run(main, setup=lambda loop: loop.set_task_factory(factory))

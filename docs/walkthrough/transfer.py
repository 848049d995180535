"""A small payments service that hangs: two transfers between the same two accounts, in
opposite directions, each lock the account they take money from and then the one they
pay into. The README's walkthrough debugs it (tests/e2e/walkthrough.py runs it)."""
import asyncio


class Account:
    def __init__(self, name, balance):
        self.name, self.balance = name, balance
        self.lock = asyncio.Lock()


async def audit(account, amount):
    await asyncio.sleep(0.1)  # a call to the fraud service
    return account.balance >= amount


async def transfer(src, dst, amount):
    async with src.lock:
        if not await audit(src, amount):
            return
        async with dst.lock:
            src.balance -= amount
            dst.balance += amount


async def worker(queue):
    while True:
        src, dst, amount = await queue.get()
        await transfer(src, dst, amount)
        queue.task_done()


async def main():
    alice, bob = Account("alice", 100), Account("bob", 50)
    queue = asyncio.Queue()
    for i in range(3):
        asyncio.create_task(worker(queue), name="worker-%d" % i)
    queue.put_nowait((alice, bob, 30))
    queue.put_nowait((bob, alice, 10))
    await queue.join()
    print("all transfers done")


asyncio.run(main())

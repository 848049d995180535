"""Named like asyncio's own helper (asyncio.wait's `_wait(fs, ..., loop)` keeps `fs` and a
`waiter` future): a reader that guessed asyncio's code by its path would take this for it."""


async def _wait(fs, waiter):
    # `fs` is only held, never watched: this waits for `waiter` alone.
    assert fs
    return await waiter

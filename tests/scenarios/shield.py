"""main awaits asyncio.shield(inner) where inner sleeps 3600."""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402


async def inner_sleep():
    await asyncio.sleep(3600)


async def main():
    inner = oracle.named(
        asyncio.get_running_loop().create_task(inner_sleep(), name="inner"))
    await asyncio.shield(inner)


if __name__ == "__main__":
    oracle.run(main)

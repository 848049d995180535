"""asyncio imported and an event loop running forever, but no task at all."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

if __name__ == "__main__":
    oracle.run(None)

"""asyncio imported and an event loop running forever, but no task at all."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oracle  # noqa: E402

# What the end-to-end matrix expects of this scenario (tests/e2e/harness/expect.py reads
# these literals; a dict keyed by version means "from this version on").
# Task shapes: (name, frame functions outermost first, what it awaits[, task type]).
EXPECT_SHAPES = []
# The oracle's graph: entries per section (links per kind), and each registered
# primitive's (type, holders, wakers) by task name ("other": a waker that is no task).
EXPECT_GRAPH = {}
EXPECT_PRIMITIVES = []
# What the text says instead of stacks.
EXPECT_TEXT = "no asyncio tasks"


if __name__ == "__main__":
    oracle.run(None)

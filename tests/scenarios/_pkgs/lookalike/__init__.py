"""A library with an `asyncio` subpackage, as redis (redis/asyncio/) and websockets
(websockets/asyncio/) have: its code is the program's, not asyncio's."""

"""The rules and the workflow of tapbot, in plain Python.

Nothing in this package performs I/O or imports an adapter library (aiohttp, botbuilder, httpx,
msal, SQLAlchemy); `tests/test_architecture.py` enforces that.
"""

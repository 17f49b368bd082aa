"""Code the tests share (fixtures stay in the conftest.py files).

- :mod:`tests.support.waiting`: one polling helper, ``wait_until`` (and its asyncio twin).
- :mod:`tests.support.factories`: citizens, devices, assignments and gateways, one insert each.
- :mod:`tests.support.database`: per-test databases from the migrated template, counting rows.
"""

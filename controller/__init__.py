"""Huntsman call controller: FreeSWITCH outbound Event Socket server.

This package ``__init__`` imports nothing on purpose: entry points must run
``gevent.monkey.patch_all()`` before psycopg is imported (see ``__main__``).
"""

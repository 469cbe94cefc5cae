"""The database layer every domain shares.

``schema``: the declarative base, column types and column defaults. ``engine``: the async
engine and sessions. ``transactions`` and ``sqlite_transactions``: the runners of sync units
of work (intake and workers). ``statements``: SQL that differs between SQLite and PostgreSQL.
``migrate``: Alembic at start-up and from the CLI.
"""

"""The compliance console: the office's web pages on the ledger (``canopy console serve``).

Why its own process, beside the bridge rather than inside it: the bridge's job is
ingest and submission, and nothing a person does in a browser may slow or stop
that. A page that renders a year of waste records, a PDF of a thousand rows, a
crash in a template or a flood of sign-in attempts stays in this process; the
bridge keeps storing events and answering kiosks. It also lets the console be
bound to the office network only (or to 127.0.0.1 behind a reverse proxy) while
the bridge's MQTT port faces the grow rooms, and lets it be restarted, upgraded
or turned off on its own. It reads the same bridge config (``-c bridge.toml``)
and the same ledger (SQLite readers run beside the bridge's writer; PostgreSQL
takes any number of connections); what it writes there is its own: accounts,
signed-in sessions (hashed tokens), and an append-only, chained log of every console action.

Modules: ``accounts`` (roles and password hashes), ``auth`` (sessions, CSRF tokens,
the sign-in throttle), ``views`` (every page, declared once: floor status, one
page per register in ``bridge.reports.REGISTERS``, activity search, chain
verification, console log, users), ``export`` (CSV and PDF), ``web`` (the aiohttp
application and server). Only ``cli`` imports this package.
"""

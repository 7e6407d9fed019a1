"""Canopy's contract: what every other package shares, and nothing else.

The event envelope and payloads (``events``), topics, acks and kiosk status
messages (each wire message encoded and decoded in one module), reference-data
formats (``refdata``, ``workerfile``), the MQTT connection, config loading
primitives, ids and errors. It imports no other package of the project; the
``canopy`` command lives in ``cli``, hardware in ``drivers``, the kiosk daemon
in ``agent``, the central service in ``bridge``.
"""

__version__ = "0.1.0"

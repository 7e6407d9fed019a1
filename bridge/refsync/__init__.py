"""Reference-data down-sync: the state's lists, retained per facility, for offline kiosks.

    source = state.refsource          # the licence's state connection (bridge.state.registry)
    sync = RefSync(license, source, mqtt_publisher(connection), interval_s=300,
                   static={"profile": profile, "scales": scales})
    await sync.run()

A source maps one state system's reads to ``canopy.refdata`` rows and names what
it ``provides``; ``RefSync`` publishes those names plus the ``static`` ones
(``profile``, ``scales`` from the facility's config), each only when its content
changed, and keeps the last copy retained through state outages.
"""

from bridge.refsync._source import RefSource, read_patiently
from bridge.refsync._sync import Publish, RefSync, mqtt_publisher

__all__ = [
    "Publish",
    "RefSource",
    "RefSync",
    "mqtt_publisher",
    "read_patiently",
]

"""Reference-data down-sync: the state's lists, retained per facility, for offline kiosks.

    source = MetrcRefSource(metrc_client)              # or BioTrackRefSource(biotrack_client)
    sync = RefSync(license, source, mqtt_publisher(connection), interval_s=300,
                   static={"profile": profile, "scales": scales})
    await sync.run()

A source maps one state system's reads to ``canopy.refdata`` rows and names what
it ``provides``; ``RefSync`` publishes those names plus the ``static`` ones
(``profile``, ``scales`` from the facility's config), each only when its content
changed, and keeps the last copy retained through state outages.
"""

from bridge.refsync._source import RefSource
from bridge.refsync._sync import Publish, RefSync, mqtt_publisher
from bridge.state.biotrack._refsource import BioTrackRefSource, adjust_reason_name
from bridge.state.metrc._refsource import FULL_HISTORY, MetrcRefSource, room_kind

__all__ = [
    "FULL_HISTORY",
    "BioTrackRefSource",
    "MetrcRefSource",
    "Publish",
    "RefSource",
    "RefSync",
    "adjust_reason_name",
    "mqtt_publisher",
    "room_kind",
]

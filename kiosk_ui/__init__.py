"""The kiosk's touch screen: a local web page the agent serves on 127.0.0.1.

    server = KioskServer(kiosk, port=8080)   # kiosk: anything that is a KioskModel
    await server.serve()                     # until cancelled

Plain HTML, CSS and JavaScript under ``static/`` (no build step, nothing from
the internet). The page gets the screen pushed as Server-Sent Events and sends
touches back as JSON; it knows nothing about the hardware behind them.
"""

from kiosk_ui._server import STATIC, KioskModel, KioskServer, Subscription
from kiosk_ui.panels import DEFAULT_PANEL, PANELS, RULES, Panel, Rules

__all__ = ["DEFAULT_PANEL", "PANELS", "RULES", "STATIC", "KioskModel", "KioskServer", "Panel", "Rules",
           "Subscription"]

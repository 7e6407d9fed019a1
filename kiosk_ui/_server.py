"""The kiosk page's HTTP server (aiohttp), on 127.0.0.1 only.

Routes:

- ``GET /`` and ``/static/…``: the page, plain files, no build step, no CDN;
- ``GET /panel.css``: how big a millimetre of this kiosk's panel is (``--mm``), so the
  page sizes targets and text in millimetres (``kiosk_ui.panels``);
- ``GET /api/stream``: Server-Sent Events, the kiosk pushes ``state`` (the whole
  screen as JSON) and ``weight`` (live scale reading) as they change;
- ``GET /api/state``: the current screen once (debugging, tests);
- ``POST /api/act``: a touch, ``{"action": …}``;
- ``GET /api/preview.png``: the label the Print screen shows, as the printer gets it;
- ``POST /api/sim`` and ``GET /api/sim/printed/<name>``: the demo's simulator
  panel, only when it is enabled.

The page is only for the browser on this machine: requests must name this host
in ``Host`` (no DNS rebinding) and POSTs must be JSON from this origin (no
cross-site form posts from anything else the browser might show). Every ``/api/``
call must carry this boot's page secret, handed to the page when it loads: as
the ``X-Canopy-Page`` header (the page reads it from its ``<meta>``) or the
``canopy_page`` cookie set with the page (what ``EventSource`` and ``<img>`` send);
POSTs need the header, so a cookie alone (a cross-site form) is never enough.
A request without it, or with another boot's, is refused with 401.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from kiosk_ui.panels import DEFAULT_PANEL, PANELS, Panel

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
HOST = "127.0.0.1"
HEARTBEAT_S = 15.0
TOKEN_HEADER = "X-Canopy-Page"
TOKEN_COOKIE = "canopy_page"
_TOKEN_META = '<meta name="canopy-page" content="{}">'


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[tuple[str, str]]: ...
    async def __anext__(self) -> tuple[str, str]: ...
    def close(self) -> None: ...


class KioskModel(Protocol):
    """What the page needs from the kiosk; the agent's ``Kiosk`` provides it."""

    def subscribe(self) -> Subscription: ...
    def state_json(self) -> str: ...
    async def act(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def preview_png(self) -> bytes | None: ...
    async def sim(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The simulator panel's request; None when the kiosk has no simulator panel."""
        ...
    def printed_file(self, name: str) -> Path | None: ...


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


class KioskServer:
    def __init__(self, model: KioskModel, *, port: int = 8080, panel: Panel | None = None) -> None:
        self.model = model
        self.panel = panel or PANELS[DEFAULT_PANEL]
        self.port = port
        self._runner: web.AppRunner | None = None
        self._streams: set[Subscription] = set()
        self.url: str | None = None
        self.token = secrets.token_urlsafe(32)  # per boot: a new agent, a new secret

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        app.router.add_get("/", self._index)
        app.router.add_get("/panel.css", self._panel_css)
        app.router.add_static("/static/", STATIC, show_index=False, append_version=False)
        app.router.add_get("/api/stream", self._stream)
        app.router.add_get("/api/state", self._state)
        app.router.add_post("/api/act", self._act)
        app.router.add_get("/api/preview.png", self._preview)
        app.router.add_post("/api/sim", self._sim)
        app.router.add_get("/api/sim/printed/{name}", self._printed)
        return app

    async def start(self) -> str:
        """Listen on 127.0.0.1; returns the page's URL. Raises OSError if the port is taken."""
        runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, HOST, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else self.port
        self.url = f"http://{HOST}:{port}/"
        return self.url

    async def serve(self, started: Callable[[str], Awaitable[None] | None] | None = None) -> None:
        """Run until cancelled."""
        url = await self.start()
        if started is not None:
            result = started(url)
            if result is not None:
                await result
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        for sub in list(self._streams):
            sub.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- guard --------------------------------------------------------------------

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        host = (request.host or "").rsplit(":", 1)[0]
        if host not in (HOST, "localhost"):
            return web.Response(status=403, text="this page is for the kiosk's own browser")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin is not None and origin not in (f"http://{request.host}",):
                return web.Response(status=403, text="cross-origin request refused")
            if request.content_type != "application/json":
                return web.Response(status=415, text="JSON only")
        if request.path.startswith("/api/") and not self._has_token(request):
            return web.Response(status=401, text="only the kiosk's own page may use this")
        response = await handler(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self'")
        return response

    def _has_token(self, request: web.Request) -> bool:
        header = request.headers.get(TOKEN_HEADER)
        if request.method != "GET":
            given = header
        else:
            given = header if header is not None else request.cookies.get(TOKEN_COOKIE)
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    # --- handlers ---------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.StreamResponse:
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        html = html.replace("<head>", "<head>\n" + _TOKEN_META.format(self.token), 1)
        response = web.Response(text=html, content_type="text/html",
                                headers={"Cache-Control": "no-store"})
        response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="Strict", path="/")
        return response

    async def _panel_css(self, request: web.Request) -> web.Response:
        return web.Response(text=self.panel.css(), content_type="text/css",
                            headers={"Cache-Control": "no-store"})

    async def _state(self, request: web.Request) -> web.Response:
        return web.Response(text=self.model.state_json(), content_type="application/json",
                            headers={"Cache-Control": "no-store"})

    async def _body(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            return None
        return body if isinstance(body, dict) else None

    async def _act(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if body is None:
            return _json({"ok": False, "message": "bad request"}, 400)
        return _json(await self.model.act(body))

    async def _sim(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if body is None:
            return _json({"ok": False, "message": "bad request"}, 400)
        answer = await self.model.sim(body)
        if answer is None:
            return _json({"ok": False, "message": "no simulator on this kiosk"}, 404)
        return _json(answer)

    async def _preview(self, request: web.Request) -> web.Response:
        png = self.model.preview_png()
        if png is None:
            return web.Response(status=404, text="no label chosen")
        return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "no-store"})

    async def _printed(self, request: web.Request) -> web.StreamResponse:
        path = self.model.printed_file(request.match_info["name"])
        if path is None:
            return web.Response(status=404, text="no such printed label")
        return web.FileResponse(path, headers={"Cache-Control": "no-store"})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        })
        await response.prepare(request)
        sub = self.model.subscribe()
        self._streams.add(sub)
        pending: asyncio.Future[tuple[str, str]] | None = None
        try:
            await response.write(b"retry: 1000\n\n")
            pending = asyncio.ensure_future(anext(sub))
            while True:
                done, _ = await asyncio.wait({pending}, timeout=HEARTBEAT_S)
                if not done:
                    await response.write(b": ping\n\n")  # finds browsers that went away
                    continue
                try:
                    kind, data = pending.result()
                except StopAsyncIteration:
                    break
                await response.write(f"event: {kind}\ndata: {data}\n\n".encode())
                pending = asyncio.ensure_future(anext(sub))
        except ConnectionResetError:
            pass  # the browser went away (reload, kiosk restart): it reconnects by itself
        finally:
            sub.close()
            self._streams.discard(sub)
            if pending is not None:
                pending.cancel()
        return response

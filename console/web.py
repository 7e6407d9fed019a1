"""The console's aiohttp application: server-rendered pages, forms, CSV and PDF downloads.

Every request but the sign-in page needs a live session; every page and form checks
the session's role against the permission its view declares (``console.views``);
every POST checks the session's CSRF token. Each thing a person does is appended to
the ledger's console log before the answer goes out.
"""

from __future__ import annotations

import asyncio
import html
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from bridge import office
from bridge.ledger import LedgerUnreachable, UserExists
from bridge.office import KIOSKS_NOTE
from bridge.reports import REJECTION_COLUMNS, Report
from console import accounts, auth
from console.accounts import ROLES, Permission, may
from console.export import Heading, as_csv
from console.render import PdfRenderer
from console.views import DEFAULT_DAYS, Asked, Context, Facility, Page, View, by_name, views

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STYLE = """
body { font: 18px/1.45 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #fafaf7; }
header { background: #24452f; color: #fff; padding: 10px 20px; display: flex; flex-wrap: wrap;
         gap: 8px 20px; align-items: center; }
header a, header .who { white-space: nowrap; }
header .who { margin-left: auto; }
header a { color: #fff; text-decoration: none; padding: 4px 8px; border-radius: 4px; }
header a.here { background: #fff; color: #24452f; }
.facility { color: #444; margin-top: -8px; }
header form { display: inline; }
nav { background: #e7eee7; padding: 8px 20px; display: flex; flex-wrap: wrap; gap: 6px 16px; }
nav a { color: #1d3a27; text-decoration: none; padding: 4px 8px; border-radius: 4px; }
nav a.here { background: #24452f; color: #fff; }
main { padding: 16px 20px; }
table { border-collapse: collapse; margin: 8px 0 24px; min-width: 50%; }
th, td { border: 1px solid #c9d3c9; padding: 6px 10px; text-align: left; vertical-align: top; }
th { background: #dfe8df; position: sticky; top: 0; }
tr:nth-child(even) td { background: #f2f4f0; }
.exports a, button, input[type=submit] { font-size: 18px; padding: 8px 14px; margin-right: 8px; }
input, select { font-size: 18px; padding: 6px; }
.error { background: #fde2e2; border: 1px solid #d99; padding: 10px; }
.note { background: #fff5d6; border: 1px solid #e5cf80; padding: 10px; }
.ok { background: #e2f5e2; border: 1px solid #8c8; padding: 10px; }
label { display: block; margin: 10px 0 4px; }
fieldset.period { display: inline-block; border: 1px solid #c9d3c9; margin: 8px 8px 8px 0;
                  padding: 4px 12px 10px; }
fieldset.period label { display: inline; margin: 0 6px 0 0; }
fieldset.period input { margin-right: 16px; }
"""

# Content-Security-Policy: no script at all, styles only from this server.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
                               " frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


@dataclass
class Console:
    """The running console: what pages are built from, and who is signed in."""

    ctx: Context
    secure: bool = False  # served over TLS: cookies are marked Secure
    sessions: auth.Sessions = field(init=False)  # signed-in ones kept in the ledger
    throttle: auth.Throttle = field(default_factory=auth.Throttle)
    wall: Callable[[], float] = time.time
    trusted_proxies: tuple[auth.Network, ...] = ()  # see auth.client_address
    renderer: PdfRenderer = field(default_factory=PdfRenderer)  # PDFs, beside the loop

    def __post_init__(self) -> None:
        self.sessions = auth.Sessions(self.ctx.ledger)

    # --- helpers -------------------------------------------------------------------

    async def record(self, request: web.Request, who: str, action: str, what: str) -> None:
        await self.ctx.ledger.console_record(who, action, what, self.address(request))

    def address(self, request: web.Request) -> str:
        """The client's address (behind a trusted proxy, the one the proxy saw)."""
        return auth.client_address(request.remote or "", request.headers.getall("X-Forwarded-For", []),
                                   self.trusted_proxies)

    async def session(self, request: web.Request) -> auth.Session | None:
        return await self.sessions.get(request.cookies.get(auth.COOKIE))

    def over_tls(self, request: web.Request) -> bool:
        """Whether the browser reached the console over TLS: served by this process with a
        certificate, or through a trusted proxy that says so (X-Forwarded-Proto: https)."""
        return self.secure or auth.forwarded_https(request.remote or "",
                                                   request.headers.getall("X-Forwarded-Proto", []),
                                                   self.trusted_proxies)

    def set_cookie(self, request: web.Request, response: web.StreamResponse, session: auth.Session) -> None:
        response.set_cookie(auth.COOKIE, session.token, httponly=True, samesite="Strict",
                            secure=self.over_tls(request),
                            path="/")

    def today(self, facility: Facility) -> date:
        """The facility's own date now."""
        return datetime.fromtimestamp(self.wall(), ZoneInfo(facility.timezone)).date()

    def now_text(self, facility: str | None) -> str:
        return self.ctx.clock.show(facility, datetime.fromtimestamp(self.wall(), UTC))

    def layout(self, session: auth.Session, title: str, body: str, facility: Facility | None = None,
               here: str = "") -> web.Response:
        role = ROLES.get(session.role or "")
        fac_links = " ".join(
            f'<a href="/f/{quote(f.license)}/floor" class="{"here" if facility == f else ""}">'
            f"{esc(f.name if f.name != f.license else '')} {esc(f.license)}</a>" for f in self.ctx.facilities)
        about = "" if facility is None else (
            f'<p class="facility">{esc(facility.name)} · licence {esc(facility.license)}'
            f"{' · ' + esc(facility.state) if facility.state else ''}"
            f" · times in {esc(facility.timezone)}</p>")
        allowed = [v for v in views() if may(session.role or "", v.permission)]
        menu = [f'<a href="/f/{quote(facility.license)}/{v.name}" class="{"here" if here == v.name else ""}">'
                f"{esc(v.title)}</a>" for v in allowed if v.per_facility and facility is not None]
        admin = [f'<a href="/console/{v.name}" class="{"here" if here == v.name else ""}">{esc(v.title)}</a>'
                 for v in allowed if not v.per_facility]
        page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{esc(title)} - Canopy console</title><link rel="stylesheet" href="/style.css"></head><body>
<header><strong>Canopy compliance console</strong> {fac_links} {" ".join(admin)}
<span class="who">{esc(session.user)} ({esc(role.title if role else session.role)})</span>
<form method="post" action="/logout"><input type="hidden" name="csrf" value="{esc(session.csrf)}">
<button type="submit">Sign out</button></form></header>
<nav>{"".join(menu)}</nav><main><h1>{esc(title)}</h1>{about}{body}</main></body></html>"""
        return web.Response(text=page, content_type="text/html")

    # --- sign-in -------------------------------------------------------------------

    def login_page(self, request: web.Request, session: auth.Session, message: str = "",
                   status: int = 200) -> web.Response:
        note = f'<p class="error" role="alert">{esc(message)}</p>' if message else ""
        plain = "" if self.over_tls(request) else (
            '<p class="note">This console is served without TLS: use it only on this machine or behind an'
            " HTTPS proxy.</p>")
        page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Sign in - Canopy console</title><link rel="stylesheet" href="/style.css"></head><body>
<header><strong>Canopy compliance console</strong></header>
<main><h1>Sign in</h1>{note}{plain}<form method="post" action="/login">
<input type="hidden" name="csrf" value="{esc(session.csrf)}">
<label for="name">Account</label><input id="name" name="name" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<p><button type="submit">Sign in</button></p></form></main></body></html>"""
        response = web.Response(text=page, content_type="text/html", status=status)
        self.set_cookie(request, response, session)
        return response

    async def get_login(self, request: web.Request) -> web.StreamResponse:
        session = await self.session(request)
        if session is not None and session.user is not None:
            raise web.HTTPFound("/")
        return self.login_page(request, session or self.sessions.anonymous())

    def _until(self, until: float) -> str:
        minutes = max(1, round((until - self.wall()) / 60))
        at = datetime.fromtimestamp(until, UTC)
        zone = self.ctx.facilities[0].license if self.ctx.facilities else None
        return f"{self.ctx.clock.show(zone, at)} (in {minutes} min)"

    async def post_login(self, request: web.Request) -> web.StreamResponse:
        session = await self.session(request)
        form = await request.post()
        if session is None or not auth.csrf_ok(session, _field(form, "csrf")):
            return self.login_page(request, self.sessions.anonymous(),
                                   "Your sign-in page had expired: please sign in again.", 403)
        name = (_field(form, "name") or "").strip().lower()
        password = _field(form, "password") or ""
        keys = (auth.account_key(name), auth.address_key(self.address(request)))
        locked = self.throttle.locked_until(*keys)
        if locked is not None:
            if self.throttle.first_refusal(*keys):
                await self.record(request, name, "sign-in refused", "locked: too many failed sign-ins")
            return self.login_page(
                request, session, f"Too many failed sign-ins. Try again after {self._until(locked)}.", 429)
        if not self.throttle.begin(*keys):
            return self.login_page(request, session, "Other sign-ins of this account or from this address"
                                   " are being checked: try again in a moment.", 429)
        try:
            user = await self.ctx.ledger.console_user(name)
            good = await asyncio.to_thread(accounts.check_password, password, user.secret if user else None)
            if user is None or not good or not user.active:
                locked = self.throttle.failed(*keys)
                why = "disabled account" if user is not None and good else "wrong account or password"
                await self.record(request, name, "sign-in refused", why)
                message = ("This account is disabled: ask a compliance manager." if why == "disabled account"
                           else "Wrong account or password.")
                if locked is not None:
                    message += f" Too many failed sign-ins: try again after {self._until(locked)}."
                return self.login_page(request, session, message, 401)
            self.throttle.succeeded(keys[0])
        finally:
            self.throttle.end(*keys)
        await self.sessions.end(session.token)
        fresh = await self.sessions.sign_in(user.name, user.role)
        await self.record(request, user.name, "sign-in", f"role {user.role}")
        response = web.HTTPFound("/")
        self.set_cookie(request, response, fresh)
        raise response

    async def post_logout(self, request: web.Request) -> web.StreamResponse:
        session = await self._signed_in(request)
        await self._csrf(request, session)
        await self.sessions.end(session.token)
        await self.record(request, session.user or "", "sign-out", "")
        response = web.HTTPFound("/login")
        response.del_cookie(auth.COOKIE, path="/")
        raise response

    # --- pages ---------------------------------------------------------------------

    async def _signed_in(self, request: web.Request) -> auth.Session:
        session = await self.session(request)
        if session is None or session.user is None:
            if request.method == "GET":
                raise web.HTTPFound("/login")
            raise web.HTTPForbidden(text="Your session has ended: sign in again.")
        return session

    async def _csrf(self, request: web.Request, session: auth.Session) -> Any:
        form = await request.post()
        if not auth.csrf_ok(session, _field(form, "csrf")):
            raise web.HTTPForbidden(text="This form had expired (its security token did not match):"
                                         " go back, reload the page and try again.")
        return form

    def _allowed(self, session: auth.Session, permission: Permission) -> None:
        if not may(session.role or "", permission):
            role = ROLES.get(session.role or "")
            raise web.HTTPForbidden(text=f"Your role ({role.title if role else session.role}) may not do"
                                         " this: ask a compliance manager.")

    async def home(self, request: web.Request) -> web.StreamResponse:
        session = await self._signed_in(request)
        if self.ctx.facilities:
            raise web.HTTPFound(f"/f/{quote(self.ctx.facilities[0].license)}/floor")
        if may(session.role or "", Permission.MANAGE):
            raise web.HTTPFound("/console/users")
        return self.layout(session, "No facilities", "<p>The bridge config lists no [[facilities]].</p>")

    def _view(self, name: str, per_facility: bool) -> View:
        view = by_name().get(name)
        if view is None or view.per_facility != per_facility:
            raise web.HTTPNotFound(text=f"There is no page {name!r}.")
        return view

    async def page(self, request: web.Request) -> web.StreamResponse:
        session = await self._signed_in(request)
        license = request.match_info.get("facility")
        facility = None
        if license is not None:
            facility = self.ctx.facility(license)
            if facility is None:
                raise web.HTTPNotFound(text=f"There is no facility {license!r} in the bridge config.")
        view = self._view(request.match_info["view"], facility is not None)
        self._allowed(session, view.permission)
        fmt = request.match_info.get("ext", "").lstrip(".")
        if fmt:
            self._allowed(session, Permission.EXPORT)
        query = request.query
        try:
            asked = Asked.of(query.get("q", ""), query.get("from", ""), query.get("to", ""))
        except ValueError as exc:
            raise web.HTTPBadRequest(text=f"{exc}. Go back and correct the dates.") from None
        if not view.dated:
            asked = Asked(asked.query)
        elif facility is not None and "from" not in query and "to" not in query:
            asked = Asked.recent(asked.query, self.today(facility))
        built = await view.build(self.ctx, facility, asked)
        what = " ".join(x for x in (facility.license if facility else "all", view.name, fmt,
                                    *(f"{k}={v}" for k, v in asked.params().items() if v),
                                    "all records" if asked.everything else "") if x)
        await self.record(request, session.user or "", "export" if fmt else "view", what)
        if fmt:
            return await self._export(built, view, facility, session, fmt, asked)
        return self.layout(session, built.title, self._body(built, view, facility, session, asked),
                           facility, view.name)

    async def _export(self, built: Page, view: View, facility: Facility | None, session: auth.Session,
                      fmt: str, asked: Asked) -> web.Response:
        zone = facility.license if facility else None
        title = built.title
        period = (asked.describe(facility.timezone) if facility is not None and asked.dated
                  else _period(built.sections, self.now_text(zone)))
        heading = Heading(title, f"{facility.name} (licence {facility.license})" if facility
                          else "all facilities", period,
                          self.now_text(zone), f"{session.user} ({ROLES[session.role or ''].title})")
        dated = facility is not None and asked.dated
        days = f"{asked.first or 'start'}_{asked.last or 'now'}" if dated else ""
        stem = "-".join(x for x in (facility.license if facility else "console", view.name, days,
                                    datetime.fromtimestamp(self.wall(), UTC).strftime("%Y%m%d-%H%M")) if x)
        disposition = {"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'}
        if fmt == "csv":
            return web.Response(text=as_csv(built.sections, heading), content_type="text/csv",
                                charset="utf-8", headers=disposition)
        # In a process of its own: seconds to minutes of layout for years of records, while
        # the other users' pages are answered here (console.render).
        body = await self.renderer.pdf(built.sections, heading, built.notes)
        return web.Response(body=body, content_type="application/pdf", headers=disposition)

    def _body(self, built: Page, view: View, facility: Facility | None, session: auth.Session,
              asked: Asked) -> str:
        parts = [f'<p class="note">{esc(n)}</p>' for n in built.notes]
        if asked.default and view.dated:
            parts.append(f'<p class="note">The last {DEFAULT_DAYS} days, {esc(asked.first)} to'
                         f' {esc(asked.last)}: choose other days below, or empty both for all records.</p>')
        base = f"/f/{quote(facility.license)}/{view.name}" if facility else f"/console/{view.name}"
        suffix = f"?{urlencode(asked.params())}" if asked.params() else ""
        fields = []
        if view.search:
            fields.append(f'<label for="q">{esc(view.search)}</label>'
                          f'<input id="q" name="q" value="{esc(asked.query)}" size="40">')
        if view.dated and facility is not None:
            fields.append(f'<fieldset class="period"><legend>Period (local days, {esc(facility.timezone)};'
                          ' empty: all records)</legend>'
                          f'<label for="from">From</label><input id="from" name="from" type="date"'
                          f' value="{esc(asked.first or "")}">'
                          f'<label for="to">To (inclusive)</label><input id="to" name="to" type="date"'
                          f' value="{esc(asked.last or "")}"></fieldset>')
        if fields:
            button = "Search" if view.search else "Show"
            parts.append(f'<form method="get" action="{base}">{"".join(fields)} '
                         f'<button type="submit">{button}</button></form>')

        if may(session.role or "", Permission.EXPORT):
            csv_link, pdf_link = (esc(f"{base}.{ext}{suffix}") for ext in ("csv", "pdf"))
            parts.append(f'<p class="exports"><a href="{csv_link}" download>Download CSV</a>'
                         f'<a href="{pdf_link}" download>Download PDF</a></p>')
        form = FORMS.get(view.name)
        if form is not None and may(session.role or "", form[0]):
            parts.append(form[1](session, facility, built))
        for report in built.sections:
            parts.append(_table(report))
        return "\n".join(parts)

    @staticmethod
    def _verify_form(session: auth.Session, facility: Facility | None, built: Page) -> str:
        assert facility is not None
        return (f'<form method="post" action="/f/{quote(facility.license)}/chain/verify">'
                f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">'
                '<button type="submit">Verify now</button></form>')

    @staticmethod
    def _user_forms(session: auth.Session, facility: Facility | None, built: Page) -> str:
        options = "".join(f'<option value="{esc(r.name)}">{esc(r.title)}: {esc(r.help)}</option>'
                          for r in ROLES.values())
        token = f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">'
        return f"""<h2>Add an account</h2><form method="post" action="/console/users/add">{token}
<label for="new-name">Account name (lower case)</label><input id="new-name" name="name" required>
<label for="new-role">Role</label><select id="new-role" name="role">{options}</select>
<label for="new-password">Password (at least {accounts.MIN_PASSWORD} characters)</label>
<input id="new-password" name="password" type="password" autocomplete="new-password" required>
<p><button type="submit">Add account</button></p></form>
<h2>Disable an account</h2><form method="post" action="/console/users/disable">{token}
<label for="off-name">Account name</label><input id="off-name" name="name" required>
<p><button type="submit">Disable account</button></p></form>"""

    @staticmethod
    def _dismiss_form(session: auth.Session, facility: Facility | None, built: Page) -> str:
        """Each rejection of the rows shown that is still to fix, to dismiss with a reason."""
        assert facility is not None
        [report] = built.sections
        at = {c: report.columns.index(c) for c in REJECTION_COLUMNS}
        open_ = [r for r in report.rows if r[at["resolution"]] == "to fix"]
        if not open_:
            return "<h2>Dismiss a rejection</h2><p>Nothing shown here is still to fix.</p>"
        options = "".join(
            f'<option value="{esc(r[at["event"]])}">{esc(r[at["when"]])} · {esc(r[at["record"]])} ·'
            f' {esc(r[at["device"]])} #{esc(r[at["seq"]])} · {esc(r[at["worker"]])} ·'
            f' {esc(str(r[at["state_said"]])[:90])}</option>' for r in open_[:SHOWN])
        return f"""<h2>Dismiss a rejection</h2>
<p>When nothing is to be redone (e.g. the office already entered it in the state system): it is recorded
in the ledger as a dismissal by your account, with your reason.</p><p class="note">{esc(KIOSKS_NOTE)}</p>
<form method="post" action="/f/{quote(facility.license)}/rejections/dismiss">
<input type="hidden" name="csrf" value="{esc(session.csrf)}">
<label for="dismiss-event">Rejected record</label><select id="dismiss-event" name="event">{options}</select>
<label for="dismiss-reason">Reason</label>
<input id="dismiss-reason" name="reason" maxlength="120" size="60" required>
<label for="dismiss-note">Note (optional)</label>
<input id="dismiss-note" name="note" maxlength="500" size="60">
<p><button type="submit">Dismiss the rejection</button></p></form>"""

    # --- actions -------------------------------------------------------------------

    async def dismiss(self, request: web.Request) -> web.StreamResponse:
        session = await self._signed_in(request)
        self._allowed(session, Permission.DISMISS)
        form = await self._csrf(request, session)
        facility = self.ctx.facility(request.match_info["facility"])
        if facility is None:
            raise web.HTTPNotFound(text="There is no such facility in the bridge config.")
        rejected = (_field(form, "event") or "").strip()[:64]
        reason, note = _field(form, "reason") or "", _field(form, "note") or ""
        try:
            done = await office.dismiss(self.ctx.ledger, facility.license, rejected, session.user or "",
                                        reason, note, self.wall, self.ctx.clock)
        except office.CannotDismiss as exc:
            return await self._again(session, request, "rejections", facility,
                                     f"Not dismissed: {exc}.", 400)
        await self.record(request, session.user or "", "rejection dismissed",
                          f"{facility.license} {rejected} by record {done.event}: {reason.strip()}")
        return await self._again(session, request, "rejections", facility,
                                 f"Rejection of record {rejected} dismissed (record {done.event}).")

    async def verify_now(self, request: web.Request) -> web.StreamResponse:
        from bridge.ledger import verify_and_record

        session = await self._signed_in(request)
        self._allowed(session, Permission.VERIFY)
        await self._csrf(request, session)
        facility = self.ctx.facility(request.match_info["facility"])
        if facility is None:
            raise web.HTTPNotFound(text="There is no such facility in the bridge config.")
        found = await verify_and_record(self.ctx.ledger)
        bad = [r for r in found if r.mismatch is not None]
        await self.record(request, session.user or "", "verify", "FAILED" if bad else "passed")
        raise web.HTTPSeeOther(f"/f/{quote(facility.license)}/chain")

    async def add_user(self, request: web.Request) -> web.StreamResponse:
        session = await self._signed_in(request)
        self._allowed(session, Permission.MANAGE)
        form = await self._csrf(request, session)
        name = (_field(form, "name") or "").strip().lower()
        role, password = _field(form, "role") or "", _field(form, "password") or ""
        problem = user_problem(name, role, password)
        if problem is None:
            secret = await asyncio.to_thread(accounts.hash_password, password)
            try:
                await self.ctx.ledger.add_console_user(name, role, secret)
            except UserExists:
                problem = f"there is already an account {name!r} (names are never reused)"
        if problem is not None:
            return await self._users_again(session, request, problem, 400)
        await self.record(request, session.user or "", "account added", f"{name} as {role}")
        return await self._users_again(session, request, f"Account {name} added as {ROLES[role].title}.")

    async def disable_user(self, request: web.Request) -> web.StreamResponse:
        session = await self._signed_in(request)
        self._allowed(session, Permission.MANAGE)
        form = await self._csrf(request, session)
        name = (_field(form, "name") or "").strip().lower()
        if name == session.user:
            return await self._users_again(session, request, "You cannot disable your own account.", 400)
        if not await self.ctx.ledger.disable_console_user(name):
            return await self._users_again(session, request, f"No active account {name!r}.", 400)
        await self.record(request, session.user or "", "account disabled", name)
        return await self._users_again(session, request, f"Account {name} disabled and signed out.")

    async def _users_again(self, session: auth.Session, request: web.Request, message: str,
                           status: int = 200) -> web.Response:
        return await self._again(session, request, "users", None, message, status)

    async def _again(self, session: auth.Session, request: web.Request, name: str, facility: Facility | None,
                     message: str, status: int = 200) -> web.Response:
        """A page again after a form, saying what became of it (its default period)."""
        view = self._view(name, facility is not None)
        asked = Asked.recent("", self.today(facility)) if facility is not None and view.dated else Asked()
        built = await view.build(self.ctx, facility, asked)
        kind = "ok" if status == 200 else "error"
        body = f'<p class="{kind}" role="status">{esc(message)}</p>'
        body += self._body(built, view, facility, session, asked)
        response = self.layout(session, built.title, body, facility, name)
        response.set_status(status)
        return response

    # --- the application -------------------------------------------------------------

    def app(self) -> web.Application:
        @web.middleware
        async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
            tls = self.over_tls(request)
            extra = {**HEADERS, **({"Strict-Transport-Security": "max-age=31536000"} if tls else {})}
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                exc.headers.update(extra)
                raise
            except LedgerUnreachable:
                # PostgreSQL restarting or failing over: say so, not "500"; the ledger
                # reconnects by itself and the next request finds it (bridge/ledger).
                response = web.Response(text=_UNREACHABLE, content_type="text/html", status=503,
                                        headers={"Retry-After": "5"})
            response.headers.update(extra)
            return response

        async def style(request: web.Request) -> web.StreamResponse:
            return web.Response(text=STYLE, content_type="text/css")

        app = web.Application(middlewares=[headers], client_max_size=64 * 1024)
        ext = r"{ext:(\.csv|\.pdf)?}"
        app.router.add_get("/style.css", style)
        app.router.add_get("/login", self.get_login)
        app.router.add_post("/login", self.post_login)
        app.router.add_post("/logout", self.post_logout)
        app.router.add_get("/", self.home)
        app.router.add_post("/f/{facility}/chain/verify", self.verify_now)
        app.router.add_post("/f/{facility}/rejections/dismiss", self.dismiss)
        app.router.add_post("/console/users/add", self.add_user)
        app.router.add_post("/console/users/disable", self.disable_user)
        app.router.add_get(r"/f/{facility}/{view:[a-z0-9_-]+}" + ext, self.page)
        app.router.add_get(r"/console/{view:[a-z0-9_-]+}" + ext, self.page)

        async def stop_renderer(_app: web.Application) -> None:
            self.renderer.close()
        app.on_cleanup.append(stop_renderer)
        return app


_UNREACHABLE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Ledger unreachable - Canopy console</title><link rel="stylesheet" href="/style.css"></head><body>
<header><strong>Canopy compliance console</strong></header>
<main><h1>Ledger unreachable</h1><p class="error" role="alert">The ledger's database does not answer
(restarting or failing over). Nothing is lost: the bridge keeps the floor's records waiting until it
is back. Reload this page in a few seconds.</p></main></body></html>"""


# The forms a page offers, to the roles with the permission their action needs.
FORMS: dict[str, tuple[Permission, Callable[[auth.Session, Facility | None, Page], str]]] = {
    "chain": (Permission.VERIFY, Console._verify_form),
    "rejections": (Permission.DISMISS, Console._dismiss_form),
    "users": (Permission.MANAGE, Console._user_forms),
}


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def user_problem(name: str, role: str, password: str) -> str | None:
    """What is wrong with a new account, said so a person can fix it; None if nothing."""
    import re

    if not re.fullmatch(accounts.NAME_PATTERN, name):
        return (f"{name!r} cannot be an account name: 2 to 32 lower-case letters, digits, '.', '_' or '-',"
                " starting with a letter")
    if role not in ROLES:
        return f"no role {role!r}: the roles are {', '.join(ROLES)}"
    return accounts.password_problem(password)


# Rows a page shows at most: a browser table of years of rows helps nobody; the exports hold them all.
SHOWN = 1000


def _table(report: Report) -> str:
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in report.columns)
    rows = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>"
                   for row in report.rows[:SHOWN])
    if not rows:
        rows = f'<tr><td colspan="{len(report.columns)}">(none)</td></tr>'
    more = "" if len(report.rows) <= SHOWN else (
        f'<p class="note">The first {SHOWN} of {len(report.rows)} rows: download the CSV or PDF for all'
        " of them.</p>")
    return (f"<h2>{esc(report.title)}</h2>{more}<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table>")


_TIME_COLUMNS = ("when", "at", "started", "verified", "received")


def _period(sections: Sequence[Report], generated: str) -> str:
    """The first and last time the rows carry (their first time column), else everything so far."""
    times: list[str] = []
    for report in sections:
        column = next((report.columns.index(c) for c in _TIME_COLUMNS if c in report.columns), None)
        if column is not None:
            times += [str(r[column]) for r in report.rows if r[column] and str(r[column])[:2] in ("19", "20")]
    if not times:
        return f"all records up to {generated}"
    return f"{min(times)} to {max(times)}"


def ssl_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ValueError("give both --cert and --key (a certificate and its private key), or neither")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def serve(console: Console, host: str, port: int, tls: ssl.SSLContext | None,
                started: Callable[[str], None] = print) -> None:
    """Serve until cancelled."""
    runner = web.AppRunner(console.app(), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=tls, reuse_address=True)
    await site.start()
    scheme = "https" if tls else "http"
    started(f"compliance console at {scheme}://{host}:{port}/"
            + ("" if tls else " (no TLS: bound to this machine only unless --host is given; give --cert and"
               " --key to serve HTTPS to the office network)"))
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()

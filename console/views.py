"""Every page of the console, declared once: what it shows, who may open it, how it is built.

A page is one or more ``Report`` tables (``bridge.reports``), so the browser, the
CSV and the PDF show the same rows. Per facility: the floor status, one page per
register in ``bridge.reports.REGISTERS`` (a register added there appears here with
no change), the activity search and the chain's last verification. Across
facilities, for compliance managers: the console log and the accounts.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bridge import reports
from bridge.ledger import Ledger
from bridge.reports import Clock, Report
from canopy.kiosk_status import KioskStatus, age_text
from console.accounts import ROLES, Permission

Fleet = Callable[[], Awaitable[list[KioskStatus]]]


@dataclass(frozen=True)
class Facility:
    license: str
    name: str
    timezone: str
    state: str = ""


@dataclass
class Context:
    """What every page is built from."""

    ledger: Ledger
    facilities: Sequence[Facility]
    fleet: Fleet
    clock: Clock = field(default_factory=Clock)

    def facility(self, license: str) -> Facility | None:
        return next((f for f in self.facilities if f.license == license), None)


# The days a period may name: beyond them a local midnight cannot be written as UTC.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
# A dated page opened without a period shows this many local days up to today: seven years
# of a register is never what a page load reads (it is one click away: both days empty).
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Asked:
    """What a person asked a page for: a search text, and the facility's local days from
    ``first`` to ``last`` inclusive (None: unbounded on that side)."""

    query: str = ""
    first: date | None = None
    last: date | None = None
    everything: bool = False  # both days emptied on purpose: all records, not the default period
    default: bool = False  # the page's default period (``recent``), not one the person typed

    @classmethod
    def of(cls, query: str, first: str, last: str) -> Asked:
        """From a page's form fields (``q``, ``from``, ``to``: YYYY-MM-DD, as a browser's date
        input sends them, or empty); ValueError saying what to type instead."""
        def day(text: str, label: str) -> date | None:
            if not text.strip():
                return None
            try:
                day = date.fromisoformat(text.strip())
            except ValueError:
                day = None
            if day is None or not FIRST_DAY <= day <= LAST_DAY:
                raise ValueError(f"{label!r} takes a day as YYYY-MM-DD between {FIRST_DAY.year} and"
                                 f" {LAST_DAY.year} (e.g. 2026-11-01), not {text[:40]!r}")
            return day
        asked = cls(query.strip()[:200], day(first, "from"), day(last, "to"))
        asked = replace(asked, everything=not asked.dated)
        if asked.first and asked.last and asked.first > asked.last:
            raise ValueError(f"'from' ({asked.first}) is after 'to' ({asked.last}): swap them")
        return asked

    @classmethod
    def recent(cls, query: str, today: date) -> Asked:
        """The default period of a dated page: the ``DEFAULT_DAYS`` local days up to ``today``."""
        return cls(query.strip()[:200], today - timedelta(days=DEFAULT_DAYS - 1), today, default=True)

    @property
    def dated(self) -> bool:
        return self.first is not None or self.last is not None

    def period(self, zone: str) -> reports.Period:
        return reports.Period.days(self.first, self.last, ZoneInfo(zone))

    def describe(self, zone: str) -> str:
        """The period as an export's header says it."""
        days = {(True, True): f"{self.first} to {self.last}", (True, False): f"from {self.first} on",
                (False, True): f"up to and including {self.last}", (False, False): "all records"}
        return f"{days[self.first is not None, self.last is not None]} (local days, {zone})"

    def params(self) -> dict[str, str]:
        """As a page's address carries it (for the export links): empty days are kept, so
        "all records", asked for by emptying both, stays asked for rather than the default."""
        days = {k: str(v) for k, v in (("from", self.first), ("to", self.last)) if v}
        return ({"q": self.query} if self.query else {}) | (days or ({"from": "", "to": ""}
                                                                     if self.everything else {}))


@dataclass(frozen=True)
class Page:
    title: str
    sections: list[Report]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class View:
    """One page: its path name, its menu title, what a role needs to open it, and how
    it is built for a facility (``None`` for pages across facilities) and a query."""

    name: str
    title: str
    build: Callable[[Context, Facility | None, Asked], Awaitable[Page]]
    permission: Permission = Permission.VIEW
    per_facility: bool = True
    search: str = ""  # the query box's label, for pages that take one
    dated: bool = False  # offers from/to (the facility's local days)


def _ago(now: float, then: float | None) -> str:
    if then is None:
        return "-"
    return "ahead of this clock" if now < then else f"{age_text(now - then)} ago"


WAITING = {"stored": "waiting for the state", "held": "held for a person to confirm their time",
           "rejected": "rejected by the state"}


async def floor(ctx: Context, facility: Facility | None, asked: Asked) -> Page:
    assert facility is not None
    lic, now = facility.license, time.time()
    notes: list[str] = []
    open_ = await ctx.ledger.outages(lic, open_only=True)
    state_rows = [("no: outage open", ctx.clock.ms(lic, o.started), age_text(o.hours(int(now * 1000)) * 3600),
                   o.cause) for o in open_] or [("yes", "", "", "")]
    counts, oldest = await ctx.ledger.not_accepted(lic)
    ledger_rows: list[tuple[object, ...]] = [(WAITING[status], n) for status, n in counts.items()]
    if oldest is not None:
        ledger_rows.append(("oldest waiting for the state", f"{ctx.clock.ms(lic, oldest)}"
                            f" ({_ago(now, oldest / 1000)})"))
    try:
        kiosks = [k for k in await ctx.fleet() if k.facility == lic]
    except Exception as exc:  # the broker is another service: its trouble is shown, not raised
        kiosks = []
        notes.append(f"Kiosk status unavailable: {exc}")
    kiosk_rows = [(k.device, k.state, ctx.clock.show(lic, k.last_seen) if k.last_seen else "-",
                   _ago(now, k.last_seen.timestamp() if k.last_seen else None),
                   "-" if k.backlog is None else k.backlog,
                   "-" if k.oldest_unsent_age_s is None else age_text(k.oldest_unsent_age_s),
                   k.version or "-", k.fault or "") for k in kiosks]
    return Page("Floor status", [
        Report("State system reachable", ("reachable", "outage since", "for", "cause"), list(state_rows)),
        Report("Records not accepted yet", ("status", "records"), list(ledger_rows)),
        Report("Kiosks", ("kiosk", "state", "last seen", "ago", "backlog", "oldest unsent", "version",
                          "fault"), list(kiosk_rows)),
    ], notes)


NOW = "This register is of the records as they stand now: it takes no period."


def register_view(register: reports.Register) -> View:
    async def build(ctx: Context, facility: Facility | None, asked: Asked) -> Page:
        assert facility is not None
        period = asked.period(facility.timezone) if register.dated else reports.ALL_TIME
        report = await register.build(ctx.ledger, facility.license, ctx.clock, period=period)
        return Page(report.title, [report], [] if register.dated else [NOW])
    return View(register.name, register.name.replace("_", " ").capitalize(), build, dated=register.dated)


async def activity(ctx: Context, facility: Facility | None, asked: Asked) -> Page:
    assert facility is not None
    if not asked.query:
        return Page("Activity", [], ["Enter a plant or package tag, a harvest or plant batch name,"
                                     " a worker or a kiosk."])
    report = await reports.activity(ctx.ledger, asked.query, facility.license, ctx.clock,
                                    period=asked.period(facility.timezone))
    return Page(report.title, [report])


async def verification(ctx: Context, facility: Facility | None, asked: Asked) -> Page:
    assert facility is not None
    last = await ctx.ledger.last_verification()
    if last is None:
        rows: list[tuple[object, ...]] = [("never", "", "run `canopy bridge verify` or Verify now")]
    else:
        at, ok, detail = last
        rows = [(ctx.clock.ms(facility.license, at), "passed" if ok else "FAILED", detail)]
    return Page("Ledger chain", [Report("Last verification of the ledger's chain",
                                        ("verified", "result", "detail"), list(rows))])


async def console_log(ctx: Context, facility: Facility | None, asked: Asked) -> Page:
    entries = await ctx.ledger.console_log(500, asked.query or None)
    zone = ctx.facilities[0].license if ctx.facilities else None
    rows: list[tuple[object, ...]] = [(e.n, ctx.clock.ms(zone, e.at), e.who, e.action, e.what, e.address)
                                      for e in entries]
    return Page("Console log", [Report("Console log (latest 500 first)",
                                       ("n", "when", "who", "action", "what", "address"), rows)])


async def accounts(ctx: Context, facility: Facility | None, asked: Asked) -> Page:
    zone = ctx.facilities[0].license if ctx.facilities else None
    rows: list[tuple[object, ...]] = [
        (u.name, ROLES[u.role].title if u.role in ROLES else u.role, ctx.clock.ms(zone, u.created),
         "active" if u.active else f"disabled {ctx.clock.ms(zone, u.disabled)}")
        for u in await ctx.ledger.console_users()]
    return Page("Accounts", [Report("Console accounts", ("name", "role", "created", "status"), rows)])


def views() -> tuple[View, ...]:
    """Built when asked, so registers added to ``REGISTERS`` at import time all appear."""
    return (
        View("floor", "Floor status", floor),
        *(register_view(r) for r in reports.REGISTERS),
        View("activity", "Activity", activity, search="Tag, batch, worker or kiosk", dated=True),
        View("chain", "Ledger chain", verification),
        View("console-log", "Console log", console_log, Permission.MANAGE, per_facility=False,
             search="Account"),
        View("users", "Accounts", accounts, Permission.MANAGE, per_facility=False),
    )


def by_name() -> Mapping[str, View]:
    return {v.name: v for v in views()}

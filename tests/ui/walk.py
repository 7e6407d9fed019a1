"""Every floor flow on the kiosk page, once, as a worker does it, measuring each screen on the way.

    walk = Walk(kiosk, kp, panel)
    await walk.everything()
    walk.problems()        # every rule broken, on which screen (tests/ui/rules.py)
    walk.taps              # taps on the screen per flow (scans and weighings are not taps)
    walk.smallest_mm()     # the smallest target seen, in millimetres of the panel

Used by the panel tests (tests/ui/test_ui_panels.py) at every supported panel size, and by
bench/kiosk.py for its taps per flow and smallest target per panel. Each screen is measured
once per panel (that keeps four panels under a minute or two on two cores); every screen
change is made after scrolling the old screen down, and the new one must open at its top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Locator, expect

from agent.demo import WORKERS, flower_room_1, tag
from agent.testing import KioskRig
from kiosk_ui import Panel
from tests.ui.pages import KioskPage
from tests.ui.rules import Report, measure, scroll_down, scroll_top

DANA, SAM, _ = WORKERS
PLANTS = flower_room_1()
# The screen drawn (two frames), or half a second if no frame comes (a page never left hanging).
NEXT_FRAME = ("() => new Promise((r) => { requestAnimationFrame(() => requestAnimationFrame(r));"
              " setTimeout(r, 500); })")


@dataclass
class Walk:
    kiosk: KioskRig
    kp: KioskPage
    panel: Panel
    reports: list[Report] = field(default_factory=list)
    taps: dict[str, int] = field(default_factory=dict)
    opened_scrolled: list[str] = field(default_factory=list)
    flow: str = "sign in"
    shots: Path | None = None  # a screenshot of every screen measured, when given

    # --- touching -------------------------------------------------------------------------

    def _count(self) -> None:
        self.taps[self.flow] = self.taps.get(self.flow, 0) + 1

    async def _click(self, target: Locator, screen: str | None) -> None:
        """A tap; with ``screen``, one that opens that screen, which must open at its top."""
        if screen is not None:
            await scroll_down(self.kp.page)
        self._count()
        await target.click()
        await self.kp.settled()
        if screen is not None:
            await self.kp.screen(screen)
            if await scroll_top(self.kp.page) != 0:
                self.opened_scrolled.append(screen)

    async def tap(self, name: str, screen: str | None = None) -> None:
        button = self.kp.page.locator("#screen").get_by_role("button", name=name, exact=True)
        await self._click(button, screen)

    async def tap_id(self, testid: str, screen: str | None = None) -> None:
        await self._click(self.kp.page.get_by_test_id(testid), screen)

    async def tap_first(self, css: str, screen: str | None = None) -> None:
        await self._click(self.kp.page.locator(css).first, screen)

    async def pin(self, pin: str, screen: str) -> None:
        pad = self.kp.page.get_by_test_id("pin-pad")
        for digit in pin:
            await self._click(pad.get_by_role("button", name=digit, exact=True), None)
        await self.tap_id("pin-ok", screen)

    async def start(self, flow: str, tile: str, screen: str | None = None) -> None:
        self.flow = flow
        await self.tap_id(f"tile-{tile}", screen or tile)

    async def home(self, name: str = "Done") -> None:
        await self.tap(name, "home")

    # --- looking --------------------------------------------------------------------------

    async def look(self) -> Report:
        """Measure the screen as it opens (a tap may have scrolled it to reach a button)."""
        await self.kp.settled()
        await self.kp.page.evaluate("() => { document.getElementById('screen').scrollTop = 0; }")
        await self.kp.page.evaluate(NEXT_FRAME)
        report = await measure(self.kp.page, self.panel)
        self.reports.append(report)
        if self.shots is not None:
            await self.kp.shot(self.shots / f"{len(self.reports):02d}-{report.screen}.png")
        return report

    def problems(self) -> list[str]:
        where = f"{self.panel.width}x{self.panel.height}"
        return [p for r in self.reports for p in r.broken()] + [
            f"{s} at {where}: opened scrolled down (at the previous screen's scroll)"
            for s in self.opened_scrolled]

    def smallest_mm(self) -> float:
        return min((r.smallest_target_mm for r in self.reports), default=math.inf)

    def smallest_cap_mm(self, status: bool) -> float:
        """The smallest cap height of body (or status) text seen, in millimetres of the glass."""
        caps = [t["cap"] / self.panel.css_px_per_mm for r in self.reports for t in r.raw["texts"]
                if t["status"] == status]
        return round(min(caps, default=math.inf), 2)

    def lowest_contrast(self) -> float:
        return round(min((t["contrast"] for r in self.reports for t in r.raw["texts"]), default=math.inf), 2)

    def screens(self) -> set[str]:
        return {r.screen for r in self.reports}

    # --- the flows ---------------------------------------------------------------------------

    async def everything(self) -> None:
        kiosk, page = self.kiosk, self.kp.page
        await self.look()                                     # sign in: who
        await self.tap("Sam Lee")
        await self.look()                                     # sign in: the PIN pad
        await self.pin(SAM.pin, "home")
        await self.look()                                     # home: every tile

        await self.start("move plants", "move")
        await kiosk.scan("Flower Room 2")
        for plant in PLANTS[:3]:
            await kiosk.scan(plant)
        await expect(page.get_by_test_id("count")).to_have_text("3 moved")
        await self.look()
        await self.home()

        await self.start("harvest", "harvest")
        await self.look()                                     # batch, room, Start
        await self.tap_id("new-batch")
        await self.tap_id("start")
        for plant in PLANTS[3:6]:
            await kiosk.scan(plant)
            await kiosk.weigh("812.4")
            await kiosk.empty_scale()
        await expect(page.get_by_test_id("count")).to_have_text("3 plants weighed")
        await self.look()                                     # the weigh loop
        await self.home()

        await self.start("harvest waste", "harvest")
        await self.tap_id("go-harvest_waste", "harvest_waste")
        await self.look()
        await self.tap_first("[data-testid=harvests] button")
        await self.tap_first("[data-testid=types] button")
        await kiosk.weigh("2.140", "kg")
        await expect(page.get_by_test_id("waste-weight")).to_have_text("Taken: 2.140 kg")
        await self.witness("harvest_waste")
        await self.look()                                     # type, weight, witness, Save
        await self.tap_id("save")
        await kiosk.empty_scale()
        await self.tap("Done", "harvest")

        self.flow = "cure"
        await self.tap_id("go-cure", "cure")
        await self.look()
        await self.tap_first("[data-testid=rooms] button")
        await kiosk.scan(PLANTS[3])
        await kiosk.weigh("120.5")
        await kiosk.empty_scale()
        await expect(page.get_by_test_id("count")).to_have_text("1 plants cured")
        await self.look()
        await self.tap("Done", "harvest")
        await self.home()

        await self.start("move packages", "packages", "menu")
        await self.look()                                     # the packages menu
        await self.tap_id("tile-package_move", "package_move")
        await kiosk.scan("Vault")
        await kiosk.scan(tag(8, 2))
        await expect(page.get_by_test_id("count")).to_have_text("1 moved")
        await self.look()
        await self.tap("Done", "menu")
        self.flow = "adjust a package"
        await self.tap_id("tile-package_adjust", "package_adjust")
        await kiosk.scan(tag(8, 1))
        await kiosk.weigh("448.6")
        await self.tap_first("[data-testid=reasons] button")
        notes = page.locator("[data-testid=notes] button")
        if await notes.count():
            await self.tap_first("[data-testid=notes] button")
        await self.look()
        await self.tap_id("save")
        await kiosk.empty_scale()
        await self.tap("Done", "menu")
        await self.home()

        await self.start("tag for flowering", "tag")
        await self.look()
        await self.tap_first("#screen .grid button")
        await self.look()
        await self.home()

        await self.start("new immature lot", "lot")
        await self.look()                                     # California: the source first
        await kiosk.scan(tag(0, 301))                         # the mother plant (a Gelato)
        await expect(page.get_by_test_id("source")).to_contain_text(tag(0, 301))
        await self.look()                                     # strain, source, count, room, name, Save
        await self.tap("Gelato")
        await self.tap("+10")
        await self.tap("Veg Room")
        await self.tap("Suggest a name")
        await self.tap_id("create")
        await expect(page.get_by_test_id("created")).to_be_visible()
        await self.look()                                     # saved: print its labels
        await self.home()

        await self.start("destroy", "destroy")
        await kiosk.scan(PLANTS[10])
        await self.tap_first("[data-testid=reasons] button")
        await self.tap_first("[data-testid=methods] button")
        await kiosk.weigh("412.5")
        await self.witness("destroy")
        await self.look()                                     # reason, method, weight, witness, Save
        await self.tap_id("save")
        await kiosk.empty_scale()
        await self.home()

        await self.start("print labels", "labels")
        await self.look()
        await self.tap_id("kind-room")
        await self.tap("Flower Room 2")
        await expect(page.get_by_test_id("preview")).to_be_visible()
        await self.look()                                     # preview, copies, Print
        await self.tap_id("print")
        await self.home()

        await self.start("room count", "count")
        await kiosk.scan("Flower Room 1")
        for plant in PLANTS[12:15]:
            await kiosk.scan(plant)
        await kiosk.scan(tag(0, 204))
        await self.look()                                     # found, missing, extra, Finish
        await self.tap_id("finish")
        await self.home()

        await self.start("receive tags", "receive")
        await kiosk.scan(tag(9, 500))
        await kiosk.scan(tag(9, 509))
        await expect(page.get_by_test_id("count")).to_be_visible()
        kinds = page.get_by_test_id("kind-plant")
        if await kinds.count():
            await self.tap_id("kind-plant")
        await self.look()
        await self.tap_id("confirm")
        await self.home()

        await self.start("scale check", "scalecheck")
        await kiosk.empty_scale()
        await self.look()
        await self.home()

        await self.start("correct a record", "records")
        await self.look()
        await self.tap_first("[data-testid=records] li")
        await expect(page.get_by_test_id("selected")).to_be_visible()
        await self.look()                                     # the correction, supervisor sign-off
        await self.tap("Back")
        await self.home()

        # Where the state holds destroyed waste (NM, 72 h): the hold list, then completing one.
        # The facility's time zone stays: the day's scale check was passed on its local day,
        # and another zone's day begins an hour apart (07:00-08:00 UTC it is a new day in
        # Denver but not in Los Angeles), where weighing rightly waits for a new check.
        profile = {**kiosk.ref["profile"], "state": "NM", "destroy_hold_hours": 72}
        await kiosk.load_ref({"profile": profile})
        await self.start("destroy (held)", "destroy")
        await kiosk.scan(PLANTS[11])
        await self.tap_first("[data-testid=reasons] button")
        await self.tap_first("[data-testid=methods] button")
        await kiosk.weigh("250.0")
        await self.witness("destroy", look=False)
        await self.tap_id("save")
        await self.kp.says("Hold label printed")
        await kiosk.empty_scale()
        await self.home()
        await self.start("complete a held destruction", "hold")
        await self.look()                                     # the holds, each with Reprint
        kiosk.later(hours=73)
        await kiosk.scan(PLANTS[11])
        await expect(page.get_by_test_id("complete")).to_be_visible()
        await self.witness("hold", look=False)
        await self.look()                                     # Complete destruction
        await self.tap_id("complete")
        await self.home()

    async def witness(self, back: str, look: bool = True) -> None:
        """A second person signs in on the same screen (measured on the way: names, PIN pad)."""
        await self.tap_id("witness-start", "witness")
        if look:
            await self.look()
        await self.tap("Dana Ortiz")
        if look:
            await self.look()
        await self.pin(DANA.pin, back)


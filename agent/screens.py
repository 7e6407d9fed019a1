"""Every screen of the kiosk in one table: its name, its tile on the home screen, how its
flow is made, and when its tile shows.

The page asks for a screen by name (``{"action": "go", "screen": ...}``); a
name not in this table is refused. Tiles show in the table's order; a screen
without a tile is reached from another screen (Harvest offers waste and cure,
Packages move and adjust).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agent.config import ScaleSettings
from agent.floor import Floor
from agent.workflows.base import Flow, FlowContext
from agent.workflows.count import CountFlow
from agent.workflows.cure import CureFlow
from agent.workflows.destroy import DestroyFlow
from agent.workflows.harvest import HarvestFlow
from agent.workflows.harvest_waste import HarvestWasteFlow
from agent.workflows.hold import HoldFlow
from agent.workflows.labels import LabelsFlow
from agent.workflows.lot import LotFlow
from agent.workflows.move import MoveFlow
from agent.workflows.package_new import PackageCreateFlow
from agent.workflows.packages import PackageAdjustFlow, PackageMoveFlow, PackagesMenu
from agent.workflows.receive import TagReceiptFlow
from agent.workflows.records import RecordsFlow
from agent.workflows.scalecheck import ScaleCheckFlow
from agent.workflows.scan import HomeFlow
from agent.workflows.tagging import TagFlow
from drivers.printer import LabelPrinter
from drivers.scale import Scale


@dataclass(frozen=True, slots=True)
class Bench:
    """What a flow is made from: the shared context and the devices some flows drive."""

    ctx: FlowContext
    printer: LabelPrinter
    scale: Scale
    scale_settings: ScaleSettings


def _always(floor: Floor) -> bool:
    return True


def _holds_waste(floor: Floor) -> bool:
    # Only where the state holds waste (NM), or while this kiosk still knows holds.
    return floor.hold_hours > 0 or bool(floor.holds())


@dataclass(frozen=True, slots=True)
class Screen:
    name: str
    make: Callable[[Bench], Flow]
    tile: str | None = None  # the home screen tile's title; None: reached from another screen
    shown: Callable[[Floor], bool] = _always  # when the tile shows


SCREENS: tuple[Screen, ...] = (
    Screen("home", lambda b: HomeFlow(b.ctx)),
    Screen("move", lambda b: MoveFlow(b.ctx), "Move plants"),
    Screen("harvest", lambda b: HarvestFlow(b.ctx), "Harvest"),
    Screen("packages", lambda b: PackagesMenu(b.ctx), "Packages"),
    Screen("tag", lambda b: TagFlow(b.ctx), "Tag for flowering"),
    Screen("lot", lambda b: LotFlow(b.ctx, b.printer), "New immature lot"),
    Screen("destroy", lambda b: DestroyFlow(b.ctx, b.printer), "Destroy / waste"),
    Screen("labels", lambda b: LabelsFlow(b.ctx, b.printer), "Print labels"),
    Screen("count", lambda b: CountFlow(b.ctx), "Room count"),
    Screen("records", lambda b: RecordsFlow(b.ctx), "Records"),
    Screen("scalecheck", lambda b: ScaleCheckFlow(b.ctx, b.scale, b.scale_settings), "Scale check"),
    Screen("hold", lambda b: HoldFlow(b.ctx, b.printer), "Waste on hold", _holds_waste),
    Screen("receive", lambda b: TagReceiptFlow(b.ctx), "Receive tags"),
    Screen("harvest_waste", lambda b: HarvestWasteFlow(b.ctx)),
    Screen("cure", lambda b: CureFlow(b.ctx)),
    Screen("package_move", lambda b: PackageMoveFlow(b.ctx)),
    Screen("package_adjust", lambda b: PackageAdjustFlow(b.ctx)),
    Screen("package_new", lambda b: PackageCreateFlow(b.ctx, b.printer)),
)
BY_NAME = {screen.name: screen for screen in SCREENS}


def tiles(floor: Floor) -> list[dict[str, str]]:
    """The home screen's tiles that show now."""
    return [{"screen": s.name, "title": s.tile} for s in SCREENS if s.tile is not None and s.shown(floor)]

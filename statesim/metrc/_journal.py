"""The simulator's memory across restarts: every write that changed its world, one JSON line each.

The simulator keeps its world in memory; the demo runs it beside a kiosk and a
bridge that keep theirs on disk. With a journal, a restarted simulator replays
the writes it took (same rows, same time, same order: the same ids) and so
remembers what the kiosk and the ledger remember: a plant destroyed in one run
stays destroyed in the next. ``/_sim/reset`` empties it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.state.metrc import wire_dumps, wire_loads
from statesim.metrc._fields import NotYourLicense
from statesim.metrc._state import World
from statesim.metrc._writes import WRITE_OPS, WriteOp, run_batch

log = logging.getLogger(__name__)
_OPS = {(op.method, op.path): op for op in WRITE_OPS}


@dataclass(frozen=True, slots=True)
class Journal:
    path: Path

    def add(self, license_number: str, op: WriteOp, rows: list[Any], *, at: datetime, user_name: str,
            apply_first: int | None) -> None:
        line = {"at": at.isoformat(), "license": license_number, "method": op.method, "path": op.path,
                "user": user_name, "apply_first": apply_first, "rows": wire_dumps(rows).decode()}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    def replay(self, world: World) -> int:
        """Apply every journalled write to ``world`` (a fresh one from the seed); how many."""
        if not self.path.exists():
            return 0
        done = 0
        for n, text in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            try:
                line = json.loads(text)
                op = _OPS[(line["method"], line["path"])]
                run_batch(world, line["license"], op, wire_loads(line["rows"]),
                          now=datetime.fromisoformat(line["at"]), user_name=line["user"],
                          apply_first=line["apply_first"])
            except (ValueError, KeyError, TypeError, NotYourLicense) as exc:  # a torn last line
                log.warning("journal %s line %d not replayed: %s", self.path, n, exc)
                continue
            done += 1
        return done

    def clear(self) -> None:
        self.path.write_text("", encoding="utf-8")

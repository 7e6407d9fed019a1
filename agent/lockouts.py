"""Wrong-PIN and unknown-badge counts, lockouts and sign-in alerts, kept on disk.

A restart must not wipe a lockout (pulling the plug would otherwise give a
guesser five more tries), so the counts live in ``<state_dir>/signin.json``,
written atomically on every change, with wall-clock times (a monotonic clock
starts again at boot). A file that cannot be read is started afresh and said so
in the log: losing counts is better than a kiosk nobody can sign in to.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from canopy.events import SigninAlerted

log = logging.getLogger(__name__)

MAX_ALERTS = 20  # the oldest go first; supervisors see the newest


@dataclass
class Tries:
    failures: int = 0
    locked_until: float = 0.0  # unix seconds


@dataclass
class Lockouts:
    """``path`` None keeps everything in memory (tests of the counting alone)."""

    path: Path | None = None
    tries: dict[str, Tries] = field(default_factory=dict)
    alerts: list[str] = field(default_factory=list)
    # Told the alerts whenever they change (the kiosk puts the newest in its status).
    on_alert: Callable[[list[str]], None] | None = None
    # Told each new alert as a record (the kiosk saves it: it reaches the ledger).
    on_raised: Callable[[SigninAlerted], None] | None = None

    @classmethod
    def load(cls, path: Path | None) -> Lockouts:
        if path is None or not path.exists():
            return cls(path)
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            tries = {str(k): Tries(int(v["failures"]), float(v["locked_until"]))
                     for k, v in body.get("tries", {}).items()}
            alerts = [str(a) for a in body.get("alerts", [])][-MAX_ALERTS:]
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.error("sign-in counts %s unreadable (%s): starting afresh", path, exc)
            return cls(path)
        return cls(path, tries, alerts)

    def get(self, key: str) -> Tries:
        return self.tries.get(key, Tries())

    def put(self, key: str, tries: Tries | None) -> None:
        if tries is None or (tries.failures == 0 and tries.locked_until == 0):
            self.tries.pop(key, None)
        else:
            self.tries[key] = tries
        self.save()

    def alert(self, message: str, *, kind: Literal["wrong_pin", "unknown_badge"], tries: int,
              worker: str | None = None) -> None:
        log.warning("sign-in alert: %s", message)
        self.alerts = [*self.alerts, message][-MAX_ALERTS:]
        self.save()
        if self.on_alert is not None:
            self.on_alert(self.alerts)
        if self.on_raised is not None:
            self.on_raised(SigninAlerted(kind=kind, tries=max(1, min(tries, 1000)), worker=worker,
                                         message=message[:500]))

    def dismiss_alerts(self) -> None:
        self.alerts = []
        self.save()
        if self.on_alert is not None:
            self.on_alert(self.alerts)

    def save(self) -> None:
        if self.path is None:
            return
        body = {"tries": {k: asdict(v) for k, v in self.tries.items()}, "alerts": self.alerts}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".signin-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(body, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
        except OSError as exc:  # a full disk must not stop sign-in; the counts stay in memory
            log.error("sign-in counts not saved to %s: %s", self.path, exc)

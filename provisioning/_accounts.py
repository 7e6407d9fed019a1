"""System users and groups in a root filesystem (``/`` or an image being prepared).

Read from ``<root>/etc/passwd`` and ``<root>/etc/group`` directly (the ``pwd``
module only knows the running system) and changed with ``useradd`` /
``usermod --prefix <root>``, which edit those files without a chroot.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from canopy.errors import UserError


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int


class Accounts:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def available(self) -> bool:
        """False for a bare scratch root without a user database."""
        return (self.root / "etc/passwd").is_file() and (self.root / "etc/group").is_file()

    def _rows(self, name: str) -> list[list[str]]:
        path = self.root / "etc" / name
        if not path.is_file():
            return []
        lines = path.read_text().splitlines()
        return [line.split(":") for line in lines if line and not line.startswith("#")]

    def user(self, name: str) -> Account | None:
        for row in self._rows("passwd"):
            if len(row) >= 4 and row[0] == name:
                return Account(name, int(row[2]), int(row[3]))
        return None

    def group_members(self) -> dict[str, set[str]]:
        return {
            row[0]: {m for m in row[3].split(",") if m}
            for row in self._rows("group")
            if len(row) >= 4
        }

    def gid(self, group: str) -> int | None:
        for row in self._rows("group"):
            if len(row) >= 3 and row[0] == group:
                return int(row[2])
        return None

    def _run(self, command: list[str]) -> None:
        if str(self.root) != "/":
            command[1:1] = ["--prefix", str(self.root)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"{' '.join(command)} failed: {done.stderr.strip() or done.returncode}")

    def ensure_user(self, name: str, home: PurePosixPath, groups: Sequence[str]) -> list[str]:
        """A system user with its own group, no login, in those of ``groups`` that exist.

        Returns what changed ("created user x", "added x to group y"); groups the
        system does not have (``gpio`` off a Pi) are skipped, not created.
        """
        members = self.group_members()
        wanted = [g for g in groups if g in members]
        changes: list[str] = []
        if self.user(name) is None:
            command = ["useradd", "--system", "--user-group", "--home-dir", str(home),
                       "--no-create-home", "--shell", "/usr/sbin/nologin"]
            if wanted:
                command += ["--groups", ",".join(wanted)]
            self._run([*command, name])
            changes.append(f"created system user {name}" + (f" in {', '.join(wanted)}" if wanted else ""))
            return changes
        missing = [g for g in wanted if name not in members[g]]
        if missing:
            self._run(["usermod", "--append", "--groups", ",".join(missing), name])
            changes.append(f"added {name} to {', '.join(missing)}")
        return changes

"""``canopy bridge add-worker | remove-worker | list-workers`` and the ``workers_file`` key:
what IT types, what it sees when something is wrong, and how the running bridge's feed
treats a file that turns bad (the last good list stays published)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from bridge.config import BridgeConfig
from bridge.refsync import RefSync
from bridge.roster import RosterFeed, read_roster
from canopy.config import load_config
from canopy.errors import ConfigError
from canopy.refdata import Roster
from canopy.workerfile import read_file, verify_pin
from cli.main import main
from tests.bridge.test_refsync_support import PROFILE, Bridge, Watcher, running
from tests.provisioned import ProvisionedSite

pytestmark = pytest.mark.timeout(60)

FACILITY = "CCL24-0000101"


def write_config(root: Path, *facilities: tuple[str, str | None]) -> Path:
    blocks = []
    for license_, workers_file in facilities:
        line = f'workers_file = "{workers_file}"\n' if workers_file is not None else ""
        blocks.append(f"""[[facilities]]
license = "{license_}"
state = "CA"
system = "metrc"
base_url = "http://127.0.0.1:9"
timezone = "America/Los_Angeles"
{line}[facilities.metrc]
vendor_key = "v"
user_key = "u"
""")
    path = root / "bridge.toml"
    path.write_text("\n".join(blocks))
    return path


def canopy(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str,
           stdin: str = "") -> tuple[int, str, str]:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err



@pytest.fixture
def provisioned_facility() -> str:
    return FACILITY

@pytest.fixture
def conf(tmp_path: Path) -> Path:
    return write_config(tmp_path, (FACILITY, str(tmp_path / "workers.json")))


def test_add_list_and_remove_workers(conf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = canopy(monkeypatch, capsys, "bridge", "add-worker", "-c", str(conf), "--id", "w-ana",
                            "--name", "Ana Ruiz", "--badge", "B-42", "--supervisor", "--pin-stdin",
                            stdin="555555\n")
    assert code == 0, err
    assert "Ana Ruiz (w-ana, badge, supervisor) can sign in at every kiosk of CCL24-0000101" in out
    canopy(monkeypatch, capsys, "bridge", "add-worker", "-c", str(conf), "--id", "w-bo", "--name", "Bo Chen",
           "--pin-stdin", stdin="864209\n")
    path = tmp_path / "workers.json"
    assert path.stat().st_mode & 0o077 == 0  # owner-only, like the kiosk's file
    text = path.read_text()
    assert "555555" not in text and "B-42" not in text
    content = read_file(path)
    assert verify_pin("864209", next(w for w in content.workers if w.id == "w-bo").pin)

    code, out, _ = canopy(monkeypatch, capsys, "bridge", "list-workers", "-c", str(conf))
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split()[:3] == ["w-ana", "Ana", "Ruiz"] and "supervisor, badge" in lines[1]
    assert lines[2].split()[:3] == ["w-bo", "Bo", "Chen"] and "badge" not in lines[2]
    assert "scrypt" not in out
    code, out, _ = canopy(monkeypatch, capsys, "bridge", "list-workers", "-c", str(conf), "--json")
    assert json.loads(out) == [
        {"id": "w-ana", "name": "Ana Ruiz", "roles": ["worker", "supervisor"], "badge": True},
        {"id": "w-bo", "name": "Bo Chen", "roles": ["worker"], "badge": False}]

    code, out, _ = canopy(monkeypatch, capsys, "bridge", "remove-worker", "-c", str(conf), "--id", "w-ana")
    assert code == 0 and "Ana Ruiz (w-ana) removed" in out
    assert [w.id for w in read_file(path).workers] == ["w-bo"]
    code, _, err = canopy(monkeypatch, capsys, "bridge", "remove-worker", "-c", str(conf), "--id", "w-ana")
    assert code == 2 and "no worker 'w-ana'" in err and "it lists w-bo" in err


@pytest.mark.parametrize(("args", "stdin", "expect"), [
    (("--id", "w-cy", "--name", "Cy"), "12\n", "a PIN is 6 to 8 digits"),
    (("--id", "w-cy", "--name", "Cy"), "12ab\n", "a PIN is 6 to 8 digits"),
    (("--id", "bad id", "--name", "Cy"), "123456\n", "worker id 'bad id'"),
    (("--id", "w-cy", "--name", "Cy", "--badge", "B-1"), "123456\n", "that badge already belongs to another"),
])
def test_add_worker_refuses_bad_input_and_changes_nothing(
        conf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        args: tuple[str, ...], stdin: str, expect: str) -> None:
    canopy(monkeypatch, capsys, "bridge", "add-worker", "-c", str(conf), "--id", "w-ana", "--name", "Ana",
           "--badge", "B-1", "--pin-stdin", stdin="555555\n")
    before = (tmp_path / "workers.json").read_bytes()
    code, _, err = canopy(monkeypatch, capsys, "bridge", "add-worker", "-c", str(conf), *args, "--pin-stdin",
                          stdin=stdin)
    assert code == 2
    assert expect in err and "Traceback" not in err
    assert (tmp_path / "workers.json").read_bytes() == before


def test_which_file_the_commands_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    none = write_config(tmp_path, (FACILITY, None))
    code, _, err = canopy(monkeypatch, capsys, "bridge", "list-workers", "-c", str(none))
    assert code == 2 and f"{none}: no facility names a workers_file" in err

    two = write_config(tmp_path, (FACILITY, str(tmp_path / "a.json")),
                       ("CCL24-0000202", str(tmp_path / "b.json")))
    code, _, err = canopy(monkeypatch, capsys, "bridge", "list-workers", "-c", str(two))
    assert code == 2 and "several facilities have a workers file" in err and "--facility" in err
    code, _, err = canopy(monkeypatch, capsys, "bridge", "add-worker", "-c", str(two), "--facility",
                          "CCL24-0000202", "--id", "w-di", "--name", "Di", "--pin-stdin", stdin="222222\n")
    assert code == 0, err
    assert [w.id for w in read_file(tmp_path / "b.json").workers] == ["w-di"]
    assert not (tmp_path / "a.json").exists()
    code, _, err = canopy(monkeypatch, capsys, "bridge", "list-workers", "-c", str(two), "--facility", "NOPE")
    assert code == 2 and "no facility 'NOPE'" in err and "CCL24-0000101, CCL24-0000202" in err
    code, _, err = canopy(monkeypatch, capsys, "bridge", "list-workers", "-c", str(two), "--facility",
                          FACILITY)
    assert code == 2 and f"workers file {tmp_path / 'a.json'} not found" in err
    assert "`canopy bridge add-worker`" in err


def test_workers_file_config_errors_name_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "somedir").mkdir()
    bad = write_config(tmp_path, (FACILITY, str(tmp_path / "somedir")))
    with pytest.raises(ConfigError) as info:
        load_config(BridgeConfig, bad)
    assert str(bad) in str(info.value) and "'facilities.0.workers_file'" in str(info.value)
    assert "is a directory" in str(info.value)
    typo = tmp_path / "typo.toml"
    typo.write_text(bad.read_text().replace("workers_file", "worker_file"))
    with pytest.raises(ConfigError) as info:
        load_config(BridgeConfig, typo)
    assert "unknown key 'facilities.0.worker_file'" in str(info.value)


class _NoState:
    """A facility whose lists all come from config: the state API is never read."""

    provides: frozenset[str] = frozenset()

    async def fetch(self) -> dict[str, list[object]]:
        raise AssertionError("the roster must go out without reading the state")


async def test_the_feed_publishes_changes_and_keeps_the_last_good_list_when_the_file_turns_bad(
        provisioned: ProvisionedSite, conf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "workers.json"
    canopy(monkeypatch, capsys, "bridge", "add-worker", "-c", str(conf), "--id", "w-ana", "--name", "Ana",
           "--pin-stdin", stdin="555555\n")
    bridge, kiosk = Bridge(provisioned), Watcher(provisioned, FACILITY)
    sync = RefSync(FACILITY, _NoState(), bridge.publish, interval_s=3600, static={"profile": PROFILE})
    roster, started = read_roster(path)
    assert roster is not None
    feed = RosterFeed(FACILITY, path, sync, started_with=started, poll_s=3600)
    async with running(bridge.connection):
        await bridge.mark_end(FACILITY)
        await kiosk.start()
        assert await feed.check()  # the file the bridge started with goes out at once
        await kiosk.barrier(bridge)
        assert [w.id for w in kiosk.rows("workers").workers] == ["w-ana"]
        assert not await feed.check()  # unchanged: nothing sent

        canopy(monkeypatch, capsys, "bridge", "add-worker", "-c", str(conf), "--id", "w-bo", "--name", "Bo",
               "--pin-stdin", stdin="666666\n")
        assert await feed.check()
        await kiosk.barrier(bridge)
        assert [w.id for w in kiosk.rows("workers").workers] == ["w-ana", "w-bo"]

        # A hand edit breaks the file: reported, the last good list stays published.
        path.write_text(path.read_text().replace('"w-bo"', '"w bo"'))
        sent = len(bridge.published)
        assert not await feed.check()
        assert feed.error is not None and str(path) in feed.error and "workers.1.id" in feed.error
        path.unlink()
        assert not await feed.check()
        assert feed.error is not None and "is gone" in feed.error
        assert len(bridge.published) == sent
        late = Watcher(provisioned, FACILITY, "kiosk-02")  # a kiosk connecting now still gets the good list
        await late.start()
        await late.barrier(bridge)
        assert isinstance(late.rows("workers"), Roster)
        assert [w.id for w in late.rows("workers").workers] == ["w-ana", "w-bo"]

        # Everyone removed is a valid list, and it is published as such.
        canopy(monkeypatch, capsys, "bridge", "add-worker", "-c", str(conf), "--id", "w-cy", "--name", "Cy",
               "--pin-stdin", stdin="777777\n")
        canopy(monkeypatch, capsys, "bridge", "remove-worker", "-c", str(conf), "--id", "w-cy")
        assert await feed.check()
        assert feed.error is None
        await kiosk.barrier(bridge)
        assert kiosk.rows("workers").workers == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

"""The workers file keeps its history: who was on the list when (bridge/vetting.py asks
"was this worker on the list at the time of the event?"). Real files on disk."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from canopy.workerfile import (
    WorkerFile,
    WorkerFileError,
    add_worker,
    read_file,
    remove_worker,
    to_roster,
)

PIN_HASH = "scrypt$16384$8$1$" + "ab" * 16 + "$" + "cd" * 32


def test_a_leaver_stays_in_the_file_without_secrets_and_is_not_published(tmp_path: Path) -> None:
    path = tmp_path / "workers.json"
    before = datetime.now(UTC)
    add_worker(path, worker_id="w-lee", name="Lee Park", pin="246813", badge="BADGE-9")
    add_worker(path, worker_id="w-sam", name="Sam Reyes", pin="135790")
    joined = read_file(path).workers[0].added
    assert joined is not None and joined >= before
    add_worker(path, worker_id="w-lee", name="Lee Park", pin="864201")  # a new PIN keeps the start
    assert read_file(path).on_roster("w-lee", joined) is not None
    remove_worker(path, "w-lee")
    content = read_file(path)
    assert [w.id for w in content.workers] == ["w-sam"]
    [former] = content.former
    assert (former.id, former.name, former.added) == ("w-lee", "Lee Park", joined)
    assert "pin" not in json.loads(path.read_text())["former"][0]  # no PIN, no badge kept
    # On the list between joining and leaving, not before, not after.
    assert content.on_roster("w-lee", joined + timedelta(microseconds=1)) == former
    assert content.on_roster("w-lee", joined - timedelta(seconds=1)) is None
    assert content.on_roster("w-lee", former.left) is None
    # Kiosks get only who may sign in now, as before.
    assert [w.id for w in to_roster(content).workers] == ["w-sam"]
    # The badge is free again for someone else.
    add_worker(path, worker_id="w-kim", name="Kim Lo", pin="111111", badge="BADGE-9")
    # Back after leaving: a new spell, the old one kept.
    add_worker(path, worker_id="w-lee", name="Lee Park", pin="222222")
    again = read_file(path)
    assert again.on_roster("w-lee", joined + timedelta(microseconds=1)) == former
    assert again.on_roster("w-lee", datetime.now(UTC) + timedelta(seconds=1)) is not None


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(st.from_regex(r"\A[a-z][a-z0-9-]{0,10}\Z"), unique=True, max_size=5),
       at=st.datetimes(timezones=st.just(UTC)))
def test_files_written_before_the_history_stay_valid_and_count_as_always_there(
    tmp_path_factory: object, ids: list[str], at: datetime,
) -> None:
    """A file with no ``added`` and no ``former`` (every file written so far) reads as it did,
    and its workers are on the list at any time."""
    path = tmp_path_factory.mktemp("old") / "workers.json"  # type: ignore[attr-defined]
    path.write_text(json.dumps({"v": 1, "badge_salt": "00ff", "workers": [
        {"id": i, "name": i.upper(), "pin": PIN_HASH} for i in ids]}))
    content = read_file(path)
    assert content.former == []
    for worker_id in ids:
        assert content.on_roster(worker_id, at) is not None
    assert content.on_roster("w-nobody-at-all", at) is None


@settings(max_examples=60, deadline=None)
@given(left=st.one_of(st.integers(), st.text(max_size=20), st.none(), st.lists(st.integers())))
def test_a_malformed_history_names_the_file_and_key(tmp_path_factory: object, left: object) -> None:
    path = tmp_path_factory.mktemp("bad") / "workers.json"  # type: ignore[attr-defined]
    path.write_text(json.dumps({"v": 1, "badge_salt": "00ff", "workers": [],
                                "former": [{"id": "w-lee", "name": "Lee", "left": left}]}))
    content: WorkerFile | None = None
    problem = ""
    try:
        content = read_file(path)
    except WorkerFileError as exc:
        problem = str(exc)
    if content is None:
        assert str(path) in problem and "former" in problem
    else:  # a unix time or a time text with its zone: a time the roster can compare
        assert content.former[0].left.tzinfo is not None
        content.on_roster("w-lee", datetime.now(UTC))

"""What a sign-in form or the ledger hands the console, whatever its text: never a crash."""

from __future__ import annotations

import ipaddress
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bridge.reports import WASTE_COLUMNS, Report
from console import accounts, auth, export
from console.views import Asked
from console.web import user_problem


@settings(max_examples=200, deadline=None)
@given(stored=st.text(max_size=200) | st.builds("$".join, st.lists(st.text(max_size=20), max_size=8)),
       password=st.text(max_size=50))
def test_any_stored_text_is_a_refusal_not_a_crash(stored: str, password: str) -> None:
    # Costs kept small: a hash with n=2**20 in the stored text must not run for minutes.
    parts = stored.split("$")
    if len(parts) == 6 and parts[1].isdigit() and int(parts[1]) > 2**15:
        return
    assert accounts.check_password(password, stored) is False or stored.startswith("scrypt$")


@given(name=st.text(max_size=40), role=st.text(max_size=12), password=st.text(max_size=30))
def test_any_new_account_is_accepted_or_refused_with_a_reason(name: str, role: str, password: str) -> None:
    problem = user_problem(name, role, password)
    ok = (re.fullmatch(accounts.NAME_PATTERN, name) is not None and role in accounts.ROLES
          and len(password) >= accounts.MIN_PASSWORD)
    assert (problem is None) == ok
    assert problem is None or ("name" in problem or "role" in problem or "password" in problem)


@given(steps=st.lists(st.tuples(st.booleans(), st.floats(min_value=0, max_value=4000)), max_size=40))
def test_the_lock_grows_with_each_failure_past_five_and_ends(steps: list[tuple[bool, float]]) -> None:
    now = [0.0]
    throttle = auth.Throttle(clock=lambda: now[0])
    failures = 0
    for fail, wait in steps:
        now[0] += wait
        if throttle.locked_until("account:a") is not None:
            continue  # the console refuses before checking the password: nothing counted
        if fail:
            failures += 1
            until = throttle.failed("account:a")
            if failures < auth.FREE_TRIES:
                assert until is None
            else:
                expected = min(auth.FIRST_LOCK_S * 2 ** (failures - auth.FREE_TRIES), auth.MAX_LOCK_S)
                assert until == now[0] + expected
        else:
            throttle.succeeded("account:a")
            failures = 0
    now[0] += auth.MAX_LOCK_S + 1
    assert throttle.locked_until("account:a") is None


@given(query=st.text(max_size=300), first=st.text(max_size=12) | st.dates().map(str),
       last=st.text(max_size=12) | st.dates().map(str), zone=st.sampled_from(["America/Los_Angeles", "UTC",
                                                                              "Pacific/Kiritimati"]))
def test_any_period_fields_are_a_period_or_a_refusal_saying_why(query: str, first: str, last: str,
                                                                 zone: str) -> None:
    try:
        asked = Asked.of(query, first, last)
    except ValueError as exc:
        said = str(exc)
        asked = None
    if asked is None:
        assert "YYYY-MM-DD" in said or "swap them" in said
        return
    since, until = asked.period(zone).bounds()  # every accepted day is a UTC instant
    assert since is None or until is None or since < until
    assert len(asked.query) <= 200 and asked.describe(zone)


HOPS = st.lists(st.ip_addresses().map(str) | st.text(max_size=12), max_size=5).map(", ".join)


@given(peer=st.ip_addresses().map(str), headers=st.lists(HOPS, max_size=3),
       trusted=st.lists(st.sampled_from(["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"]), max_size=3))
def test_the_client_address_is_the_peer_or_an_address_a_trusted_proxy_appended(
        peer: str, headers: list[str], trusted: list[str]) -> None:
    proxies = auth.networks(trusted)
    found = auth.client_address(peer, headers, proxies)
    hops = [h.strip() for header in headers for h in header.split(",")]
    if not any(ipaddress.ip_address(peer) in net for net in proxies):
        assert found == peer
        return
    assert found == peer or found in {str(ipaddress.ip_address(h)) for h in hops if is_address(h)}
    last = hops[-1] if hops else ""
    if is_address(last) and not any(ipaddress.ip_address(last) in net for net in proxies):
        assert found == str(ipaddress.ip_address(last))  # what the nearest proxy saw


def is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]) | st.sampled_from(" \n"),
               max_size=200), st.floats(min_value=20, max_value=300))
def test_a_cell_is_wrapped_into_lines_that_fit_and_keep_every_word(text: str, room: float) -> None:
    """The PDF's cells are wrapped by the export itself (not a Paragraph per cell): each line
    fits its column, and the lines hold the text's words in order, only split at the edge."""
    lines = export._wrapped(text, room).split("\n")
    assert all(export._BODY.width(line) <= room or len(line) == 1 for line in lines)
    assert "".join("".join(line.split()) for line in lines) == "".join(text.split())
    assert len(lines) >= len(text.splitlines())


WASTE_ROW = ("2026-10-01 10:00:00 PDT", "CCL24-0000101", "plant destroyed", "plant 1A4FF0100000022000001000",
             "Male plant", "Grind and mix with soil 50/50", "soil", "512.3 g", "SCALE-7", "witness-user-12",
             "worker-34", "", "completed 2026-10-05 10:00:00 PDT by worker-3 (accepted)", "accepted", "",
             "kiosk-01", 1, "01a24fd5-f910-7080-bf57-295cf783acf0")


@settings(max_examples=200, deadline=None)
@example(columns=list(zip(WASTE_COLUMNS, [str(v) for v in WASTE_ROW], strict=True)))
@given(st.lists(st.tuples(st.text("abcdefghij_", min_size=1, max_size=16),
                          st.text("abcdef0123456789- ", max_size=60)), min_size=1, max_size=30))
def test_a_pdf_table_is_never_wider_than_the_page(columns: list[tuple[str, str]]) -> None:
    """However many columns of long words a register has (waste has 18: a licence, a plant
    tag, a UUID), its table fits between the margins: no column is cut off at the page's edge."""
    report = Report("a register", tuple(name for name, _ in columns), [tuple(c for _, c in columns)] * 5)
    total = export._PAGE[0] - 2 * export._MARGIN
    widths = export._widths(report, total)
    assert sum(widths) <= total + 1e-6 and all(w > export._PAD for w in widths)

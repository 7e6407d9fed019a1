"""Signing in and out: sessions, CSRF tokens, the throttle, and what each role may see and do."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from bridge.config import ConsoleSettings
from bridge.reports import REGISTERS
from console import auth
from console.accounts import ROLES, Permission, check_password, hash_password, may
from tests.console.conftest import Client, Site, csrf_of, csrf_token, sign_in
from tests.console.floor_records import ACCOUNTS, LICENSE, PASSWORD


async def log_actions(site: Site) -> list[tuple[str, str, str]]:
    return [(e.who, e.action, e.what) for e in reversed(await site.ledger.console_log())]


async def test_a_password_is_checked_against_its_own_salted_hash() -> None:
    one, two = hash_password("a long password"), hash_password("a long password")
    assert one != two  # a salt of its own
    assert check_password("a long password", one)
    assert not check_password("a long passwore", one)
    assert not check_password("a long password", None)  # no such account
    assert not check_password("a long password", "not a hash")


async def test_signing_in_sets_a_session_cookie_the_page_cannot_read(site: Site) -> None:
    page = await (await site.client.get("/login")).text()
    before = site.client.session.cookie_jar.filter_cookies(site.client.make_url("/"))[auth.COOKIE].value
    response = await site.client.post("/login", data={"csrf": csrf_of(page), "name": "Casey",
                                                      "password": PASSWORD}, allow_redirects=False)
    assert response.status == 302
    cookie = response.cookies[auth.COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert cookie.value != before  # a fresh token after signing in: no session fixation
    home = await site.client.get("/")
    assert home.url.path == f"/f/{LICENSE}/floor"
    assert "casey (Compliance manager)" in await home.text()
    assert "default-src 'none'" in home.headers["Content-Security-Policy"]
    assert ("casey", "sign-in", "role compliance") in await log_actions(site)


async def test_over_tls_the_cookie_is_secure(site: Site) -> None:
    site.console.secure = True
    response = await site.client.get("/login")
    assert response.cookies[auth.COOKIE]["secure"]
    assert "Strict-Transport-Security" in response.headers


@pytest.mark.parametrize(("trusted", "proto", "secure"), [
    (("127.0.0.1",), "https", True),
    (("127.0.0.1",), "http", False),
    (("127.0.0.1",), "https, http", False),  # the nearest proxy's word (the last) counts
    ((), "https", False),  # an untrusted peer may say anything
    (("10.0.0.0/8",), "https", False),
])
async def test_behind_a_trusted_https_proxy_the_cookie_is_secure(site: Site, trusted: tuple[str, ...],
                                                                  proto: str, secure: bool) -> None:
    site.console.trusted_proxies = auth.networks(trusted)
    response = await site.client.get("/login", headers={"X-Forwarded-Proto": proto})
    assert bool(response.cookies[auth.COOKIE]["secure"]) is secure
    assert ("Strict-Transport-Security" in response.headers) is secure
    assert ("served without TLS" in await response.text()) is not secure


async def test_a_wrong_password_is_refused_and_recorded(site: Site) -> None:
    assert await sign_in(site.client, "casey", "not the password") == 401
    assert await sign_in(site.client, "nobody", PASSWORD) == 401
    assert (await site.client.get("/", allow_redirects=False)).headers["Location"] == "/login"
    actions = await log_actions(site)
    assert ("casey", "sign-in refused", "wrong account or password") in actions
    assert ("nobody", "sign-in refused", "wrong account or password") in actions


async def test_a_sign_in_without_the_pages_token_is_refused(site: Site) -> None:
    await site.client.get("/login")
    response = await site.client.post("/login", data={"csrf": "forged", "name": "casey",
                                                      "password": PASSWORD}, allow_redirects=False)
    assert response.status == 403
    assert "expired" in await response.text()


async def test_five_failures_lock_the_account_for_a_minute_then_longer(site: Site) -> None:
    for _ in range(4):
        assert await sign_in(site.client, "sam", "wrong password") == 401
    page = await site.client.get("/login")
    response = await site.client.post("/login", data={"csrf": csrf_of(await page.text()), "name": "sam",
                                                      "password": "wrong again"})
    assert "Too many failed sign-ins: try again after" in await response.text()
    # Locked: even the right password is refused, with when to come back.
    response = await site.client.post("/login", data={"csrf": csrf_of(await page.text()), "name": "sam",
                                                      "password": PASSWORD})
    assert response.status == 429
    said = await response.text()
    assert "Try again after" in said and "(in 1 min)" in said
    site.later(61)
    assert await sign_in(site.client, "sam", "wrong password") == 401  # the sixth: two minutes now
    assert await sign_in(site.client, "sam") == 429
    site.later(121)
    assert await sign_in(site.client, "sam") == 302
    locked = [a for a in await log_actions(site) if a[2].startswith("locked")]
    assert locked == [("sam", "sign-in refused", "locked: too many failed sign-ins")] * 2  # once a lock


async def test_failures_from_one_address_lock_it_whatever_the_account() -> None:
    now = [0.0]
    throttle = auth.Throttle(clock=lambda: now[0])
    for name in ("a", "b", "c", "d"):
        assert throttle.failed(auth.account_key(name), auth.address_key("10.0.0.9")) is None
    assert throttle.failed(auth.account_key("e"), auth.address_key("10.0.0.9")) == 60.0
    assert throttle.locked_until(auth.account_key("f"), auth.address_key("10.0.0.9")) == 60.0
    assert throttle.locked_until(auth.account_key("f"), auth.address_key("10.0.0.7")) is None
    now[0] = 61.0
    assert throttle.locked_until(auth.account_key("f"), auth.address_key("10.0.0.9")) is None


async def test_a_flood_of_sign_in_pages_keeps_the_signed_in_sessions(site: Site,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "MAX_ANONYMOUS", 3)
    sessions = site.console.sessions
    signed = await sessions.sign_in("casey", "compliance")
    pages = []
    for _ in range(10):
        site.later(1)
        pages.append(sessions.anonymous())
    found = await sessions.get(signed.token)
    assert found is not None and (found.user, found.csrf) == ("casey", signed.csrf)
    assert [await sessions.get(p.token) is not None for p in pages] == [False] * 7 + [True] * 3
    assert len(await site.ledger._fetch("SELECT token_hash FROM console_sessions")) == 1  # none of the pages


async def test_a_session_ends_after_thirty_idle_minutes(site: Site) -> None:
    assert await sign_in(site.client, "ines") == 302
    site.later(29 * 60)
    assert (await site.client.get(f"/f/{LICENSE}/floor", allow_redirects=False)).status == 200
    site.later(29 * 60)  # each request starts the idle time again
    assert (await site.client.get(f"/f/{LICENSE}/floor", allow_redirects=False)).status == 200
    site.later(31 * 60)
    response = await site.client.get(f"/f/{LICENSE}/floor", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, "/login")


async def test_sign_out_needs_the_token_and_ends_the_session(site: Site) -> None:
    assert await sign_in(site.client, "ines") == 302
    token = await csrf_token(site.client)
    assert (await site.client.post("/logout", data={"csrf": "forged"}, allow_redirects=False)).status == 403
    assert (await site.client.get(f"/f/{LICENSE}/floor", allow_redirects=False)).status == 200
    assert (await site.client.post("/logout", data={"csrf": token}, allow_redirects=False)).status == 302
    assert (await site.client.get(f"/f/{LICENSE}/floor", allow_redirects=False)).status == 302
    assert ("ines", "sign-out", "") in await log_actions(site)


REGISTER_PAGES = [f"/f/{LICENSE}/{r.name}" for r in REGISTERS]
PAGES = [f"/f/{LICENSE}/floor", *REGISTER_PAGES, f"/f/{LICENSE}/activity?q=x", f"/f/{LICENSE}/chain"]
MANAGE_PAGES = ["/console/console-log", "/console/users"]


@pytest.mark.parametrize("role", list(ROLES))
async def test_each_role_sees_and_does_only_what_it_may(site: Site, role: str) -> None:
    name = next(n for n, r in ACCOUNTS.items() if r == role)
    assert await sign_in(site.client, name) == 302
    for path in PAGES:
        assert (await site.client.get(path)).status == 200, path
        for ext in (".csv", ".pdf"):
            exported = await site.client.get(path.replace("?", f"{ext}?") if "?" in path else path + ext)
            assert exported.status == 200, (path, ext)
    manages = may(role, Permission.MANAGE)
    for path in MANAGE_PAGES:
        response = await site.client.get(path)
        assert response.status == (200 if manages else 403), path
        if not manages:
            assert "may not do this" in await response.text()
        for ext in (".csv", ".pdf"):
            assert (await site.client.get(path + ext)).status == (200 if manages else 403), path + ext
    floor = await (await site.client.get(f"/f/{LICENSE}/floor")).text()
    assert ("/console/users" in floor) == manages  # not even offered
    token = await csrf_token(site.client)
    verify = await site.client.post(f"/f/{LICENSE}/chain/verify", data={"csrf": token}, allow_redirects=False)
    assert verify.status == (303 if may(role, Permission.VERIFY) else 403)
    chain = await (await site.client.get(f"/f/{LICENSE}/chain")).text()
    assert ("Verify now" in chain) == may(role, Permission.VERIFY)
    added = await site.client.post("/console/users/add", data={
        "csrf": token, "name": f"new-{role}", "role": "auditor", "password": "another long one"})
    assert added.status == (200 if manages else 403)
    assert (await site.ledger.console_user(f"new-{role}") is not None) == manages
    disabled = await site.client.post("/console/users/disable", data={"csrf": token, "name": "ines"
                                                                      if role != "auditor" else "sam"})
    assert disabled.status == (200 if manages else 403)


async def test_forms_without_the_sessions_token_change_nothing(site: Site) -> None:
    assert await sign_in(site.client, "casey") == 302
    before = await site.ledger.last_verification()
    for path, data in ((f"/f/{LICENSE}/chain/verify", {}),
                       ("/console/users/add", {"name": "mallory", "role": "compliance",
                                               "password": "a long password"}),
                       ("/console/users/disable", {"name": "sam"})):
        for token in ({}, {"csrf": "forged"}):
            response = await site.client.post(path, data={**data, **token}, allow_redirects=False)
            assert response.status == 403, path
            assert "security token did not match" in await response.text()
    assert await site.ledger.console_user("mallory") is None
    user = await site.ledger.console_user("sam")
    assert user is not None and user.active
    assert await site.ledger.last_verification() == before


async def test_a_disabled_account_is_signed_out_and_cannot_sign_in(site: Site) -> None:
    other: Client = TestClient(TestServer(site.console.app()))
    await other.start_server()
    try:
        assert await sign_in(other, "sam") == 302
        assert await sign_in(site.client, "casey") == 302
        token = await csrf_token(site.client, "/console/users")
        page = await site.client.post("/console/users/disable", data={"csrf": token, "name": "sam"})
        assert "Account sam disabled and signed out." in await page.text()
        assert (await other.get(f"/f/{LICENSE}/floor", allow_redirects=False)).status == 302
        assert await sign_in(other, "sam") == 401
    finally:
        await other.close()
    actions = await log_actions(site)
    assert ("casey", "account disabled", "sam") in actions
    assert ("sam", "sign-in refused", "disabled account") in actions


async def test_a_new_account_is_checked_before_it_is_added(site: Site) -> None:
    assert await sign_in(site.client, "casey") == 302
    token = await csrf_token(site.client, "/console/users")
    pw = "long enough pw"
    for data, said in (({"name": "x", "role": "auditor", "password": pw}, "cannot be an account"),
                       ({"name": "dora", "role": "owner", "password": pw}, "no role &#x27;owner&#x27;"),
                       ({"name": "dora", "role": "auditor", "password": "short"}, "at least 10"),
                       ({"name": "sam", "role": "auditor", "password": pw}, "already an account")):
        response = await site.client.post("/console/users/add", data={"csrf": token, **data})
        assert response.status == 400
        assert said in await response.text()
    response = await site.client.post("/console/users/add", data={
        "csrf": token, "name": "dora", "role": "auditor", "password": "long enough pw"})
    assert "Account dora added as Auditor." in await response.text()
    await site.client.post("/logout", data={"csrf": token})
    assert await sign_in(site.client, "dora", "long enough pw") == 302


async def test_without_a_session_every_page_leads_to_sign_in_and_every_form_is_refused(site: Site) -> None:
    for path in [*PAGES, *MANAGE_PAGES, *(p + ".csv" for p in REGISTER_PAGES), "/"]:
        response = await site.client.get(path, allow_redirects=False)
        assert (response.status, response.headers.get("Location")) == (302, "/login"), path
    for path in (f"/f/{LICENSE}/chain/verify", "/console/users/add", "/console/users/disable", "/logout"):
        response = await site.client.post(path, data={"csrf": "x"}, allow_redirects=False)
        assert response.status == 403, path
    assert [e.action for e in await site.ledger.console_log()] == []  # nothing was shown to anyone


async def attempt(client: Client, name: str, forwarded: str, password: str = "wrong password") -> int:
    """A sign-in through a reverse proxy that says the client was ``forwarded``."""
    page = await (await client.get("/login")).text()
    response = await client.post("/login", data={"csrf": csrf_of(page), "name": name, "password": password},
                                 headers={"X-Forwarded-For": forwarded}, allow_redirects=False)
    return response.status


@pytest.mark.parametrize("trusted", [False, True])
async def test_behind_a_trusted_proxy_the_throttle_locks_the_client_not_the_proxy(site: Site,
                                                                                   trusted: bool) -> None:
    if trusted:  # the test client connects from 127.0.0.1, as a proxy on the same machine would
        site.console.trusted_proxies = auth.networks(["127.0.0.1"])
    for n in range(5):  # the left end is the client's own invention: not believed
        assert await attempt(site.client, f"nobody{n}", f"198.51.100.{n}, 203.0.113.5") == 401
    assert await attempt(site.client, "sam", "203.0.113.5", PASSWORD) == 429
    # Another desk in the office, behind the same proxy: locked out too only if the proxy is not trusted.
    assert await attempt(site.client, "sam", "203.0.113.6", PASSWORD) == (302 if trusted else 429)
    addresses = {e.address for e in await site.ledger.console_log()}
    assert ("203.0.113.5" in addresses) is trusted
    assert not any(a.startswith("198.51.100.") for a in addresses)


def test_a_trusted_proxy_must_be_an_address_or_a_network() -> None:
    given = ("127.0.0.1", "10.0.0.0/8", "::1")
    assert ConsoleSettings(trusted_proxies=given).trusted_proxies == given
    with pytest.raises(ValidationError, match=r"'proxy\.lan' is not an IP address or network"):
        ConsoleSettings(trusted_proxies=("proxy.lan",))


async def test_guesses_sent_at_once_are_no_more_than_the_free_tries(site: Site) -> None:
    """Twenty wrong passwords posted at once: each used to pass the lock's look before any
    failure was counted (the password check takes a while), so all twenty were tried. Now
    no more are checked at once than failures could still be counted before the lock."""
    page = await (await site.client.get("/login")).text()
    form = {"csrf": csrf_of(page), "name": "sam", "password": "wrong guess"}
    answers = await asyncio.gather(*[site.client.post("/login", data=form, allow_redirects=False)
                                     for _ in range(20)])
    statuses = sorted(a.status for a in answers)
    assert statuses.count(401) <= auth.FREE_TRIES and set(statuses) <= {401, 429}, statuses
    tried = [e for e in await site.ledger.console_log(50) if e.what == "wrong account or password"]
    assert len(tried) == statuses.count(401)
    assert await sign_in(site.client, "sam") == 429  # and the account is now locked

"""``canopy console serve`` as an operator starts it: plain HTTP on 127.0.0.1 only, or HTTPS
with --cert/--key, with Secure cookies and the sign-in working end to end."""

from __future__ import annotations

import datetime as dt
import re
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.console.floor_records import LICENSE, PASSWORD, bridge_toml, filled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "console.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "console.crt", folder / "console.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextmanager
def console(conf: Path, *args: str) -> Iterator[str]:
    """The console process until its first line says where it listens; that line."""
    proc = subprocess.Popen([sys.executable, "-m", "cli", "console", "serve", "-c", str(conf), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        yield line
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def sign_in(client: httpx.Client, base: str) -> httpx.Response:
    page = client.get(f"{base}/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    return client.post(f"{base}/login", data={"csrf": token.group(1), "name": "casey", "password": PASSWORD})


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    import asyncio

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    asyncio.run(filled(url, moves=5))
    conf = bridge_toml(tmp_path / "bridge.toml", url)
    # No broker answers on this port: the floor page must say the kiosks' status is unavailable.
    conf.write_text(f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n\n{conf.read_text()}')
    return conf


def test_without_a_certificate_it_serves_this_machine_only_and_says_so(conf: Path) -> None:
    port = free_port()
    with console(conf, "--port", str(port)) as said:
        assert said.startswith(f"compliance console at http://127.0.0.1:{port}/ (no TLS: bound to this")
        with httpx.Client(follow_redirects=True) as client:
            home = sign_in(client, f"http://127.0.0.1:{port}")
            assert home.url.path == f"/f/{LICENSE}/floor" and "Floor status" in home.text
            # The broker is not running here: the page says so, and still shows the ledger.
            assert "Kiosk status unavailable" in home.text and "no: outage open" in home.text
            # A PDF is made by the console's renderer process (spawned from this command).
            pdf = client.get(f"http://127.0.0.1:{port}/f/{LICENSE}/rejections.pdf", timeout=60)
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize("where", ["flags", "config"])
def test_with_a_certificate_it_serves_https_with_secure_cookies(conf: Path, tmp_path: Path,
                                                                where: str) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    if where == "flags":
        args: tuple[str, ...] = ("--port", str(port), "--host", "127.0.0.1", "--cert", str(cert),
                                 "--key", str(key))
    else:  # the [console] section of the bridge's config
        args = ()
        conf.write_text(f'[console]\nhost = "127.0.0.1"\nport = {port}\ncert_file = "{cert}"\n'
                        f'key_file = "{key}"\n\n{conf.read_text()}')
    with console(conf, *args) as said:
        assert said.strip() == f"compliance console at https://127.0.0.1:{port}/"
        with httpx.Client(verify=ssl.create_default_context(cafile=cert), follow_redirects=True) as client:
            base = f"https://localhost:{port}"
            first = client.get(f"{base}/login")
            assert "Secure" in first.headers["set-cookie"] and "HttpOnly" in first.headers["set-cookie"]
            assert "without TLS" not in first.text
            home = sign_in(client, base)
            assert home.status_code == 200 and "casey (Compliance manager)" in home.text
            assert home.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_certificate_without_its_key_is_refused_plainly(conf: Path, tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    done = subprocess.run([sys.executable, "-m", "cli", "console", "serve", "-c", str(conf),
                           "--cert", str(cert)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "give both --cert and --key" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("where", ["flags", "config", "neither"])
def test_behind_a_named_proxy_it_believes_its_forwarded_headers(conf: Path, where: str) -> None:
    import asyncio

    from bridge.ledger import open_ledger

    port = free_port()
    args: tuple[str, ...] = ("--port", str(port))
    if where == "flags":
        args += ("--trusted-proxy", "127.0.0.1")
    elif where == "config":
        conf.write_text(f'[console]\ntrusted_proxies = ["127.0.0.0/8"]\n\n{conf.read_text()}')
    trusted = where != "neither"
    proxy = {"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"}
    with console(conf, *args), httpx.Client(headers=proxy) as client:
        base = f"http://127.0.0.1:{port}"
        page = client.get(f"{base}/login")
        assert ("Secure" in page.headers["set-cookie"]) is trusted
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        # Sent by hand: a Secure cookie is not sent back over http:// by the client itself.
        client.post(f"{base}/login", data={"csrf": token.group(1), "name": "sam", "password": "wrong pass"},
                    headers={"Cookie": page.headers["set-cookie"].split(";")[0]})

    async def addresses() -> set[str]:
        ledger = await open_ledger(f"sqlite:///{conf.parent / 'ledger.db'}")
        try:
            return {e.address for e in await ledger.console_log() if e.action == "sign-in refused"}
        finally:
            await ledger.close()
    assert asyncio.run(addresses()) == ({"203.0.113.5"} if trusted else {"127.0.0.1"})

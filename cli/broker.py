"""A private Mosquitto for the demo, the tests and the benchmarks.

Started on a loopback port of its own (never the system broker's 1883), with
persistence in its own folder, so a test can kill -9 it and start it again and
see what a real broker restart does to sessions and queues.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from canopy.errors import UserError

if TYPE_CHECKING:
    from provisioning import FacilityCA

SEARCH_PATH = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")


def find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    for folder in SEARCH_PATH:
        candidate = Path(folder) / "mosquitto"
        if candidate.exists():
            return str(candidate)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(host: str, port: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, so the broker can write what it keeps; SIGKILL if it is still up after 10 s."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class EmbeddedBroker:
    """The demo's fallback when Mosquitto is not installed: amqtt, MQTT 3.1.1 only."""

    protocol = "3.1.1"

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.log = workdir / "embedded-broker.log"
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    def start(self, timeout: float = 20.0) -> None:
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli.embedded_broker", "--port", str(self.port)],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        if not wait_port(self.host, self.port, timeout):
            self.stop()
            raise RuntimeError(f"the embedded broker did not start; see {self.log}")

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None


class Mosquitto:
    """One Mosquitto process with a config written for this use."""

    protocol = "5"

    def __init__(
        self, workdir: Path, port: int | None = None, *, extra: str = "", anonymous: bool = True
    ) -> None:
        binary = find_mosquitto()
        if binary is None:
            raise UserError(
                "Mosquitto is not installed: run `make demo` (it installs it), or"
                " `sudo apt-get install mosquitto`"
            )
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.extra = extra
        self.anonymous = anonymous
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"

    def _write_conf(self) -> None:
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        # Mosquitto started as root drops to `user`; stay as whoever we are so
        # it can write its own persistence folder.
        self.conf.write_text(
            f"""# written by canopy for a private broker; not a production config
user {getpass.getuser()}
per_listener_settings false
listener {self.port} 127.0.0.1
allow_anonymous {'true' if self.anonymous else 'false'}
persistence true
persistence_location {data}/
autosave_interval 1
autosave_on_changes false
# The defaults (1000 queued, 20 in flight) silently drop a kiosk backlog.
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 0
max_packet_size 262144
log_dest file {self.log}
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
{self.extra}
"""
        )

    def start(self, timeout: float = 10.0) -> None:
        self._write_conf()
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        if not wait_port(self.host, self.port, timeout):
            err = b""
            if self.proc.poll() is not None and self.proc.stderr is not None:
                err = self.proc.stderr.read()
            self.kill()
            raise RuntimeError(f"mosquitto did not start on port {self.port}: {err.decode()[-500:]}")

    def stop(self) -> None:
        """Graceful stop: Mosquitto writes its persistence file."""
        _stop(self.proc)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ProvisionedMosquitto(Mosquitto):
    """Mosquitto running exactly the config `canopy provision broker` writes for ``ca``.

    TLS with client certificates, login = certificate name, the access list of
    every identity enrolled in ``ca``; only the address, the folders and the
    log differ from production. ``start`` (re)writes the files first, so an
    identity enrolled since takes effect at the next start, as in production
    (the access list is read when the broker starts).
    """

    def __init__(self, workdir: Path, ca: FacilityCA, port: int | None = None) -> None:
        super().__init__(workdir, port, anonymous=False)
        from provisioning import BrokerOptions

        self.ca = ca
        self.dir = workdir / "broker"
        data = workdir / "data"
        # The log goes to the data folder: started as root, Mosquitto drops to
        # user `mosquitto`, which owns that folder (write_broker hands it over).
        self.log = data / "mosquitto.log"
        self.conf = self.dir / "mosquitto.conf"
        self.options = BrokerOptions(hosts=("127.0.0.1", "localhost"), port=self.port, bind="127.0.0.1",
                                     data_dir=data, log_file=self.log)

    def _write_conf(self) -> None:
        self.write()

    def write(self) -> list[str]:
        """Write (or bring up to date) the broker files; the names that changed."""
        from provisioning import FacilityCA, write_broker

        # Read again: `canopy provision` may have enrolled or revoked since.
        self.ca = FacilityCA.open(self.ca.path)
        return write_broker(self.ca, self.dir, self.options)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except (FileNotFoundError, PermissionError):
            return "(no log)"

    def restart(self) -> None:
        """Graceful stop and start: what `systemctl restart mosquitto` does."""
        self.stop()
        self.start()

    def reload(self, timeout: float = 10) -> None:
        """SIGHUP (re-reads the CRL), and wait until Mosquitto says it re-read its config."""
        assert self.proc is not None
        before = self.log_text().count("Reloading config")
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self.log_text().count("Reloading config") == before:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no reload in the log:\n{self.log_text()[-2000:]}")
            time.sleep(0.02)

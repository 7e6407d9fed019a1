"""paho-mqtt driven by the asyncio loop: the one MQTT connection both ends use.

Why not aiomqtt 2.x: it PUBACKs incoming messages on receipt (a bridge crash
after receipt loses the message) and ignores MQTT 5 PUBACK reason codes (a
"not authorized" looks like success). See reference/edge-anchors.md §3. This
adapter keeps paho's protocol code and adds what we need:

- the socket is served by the event loop (``add_reader``/``add_writer``), so no
  paho thread and no cross-thread hand-offs on the hot path;
- ``manual_ack``: the caller acknowledges a message after it is durable;
- PUBACK reason codes reach the caller;
- our own reconnect loop with jittered exponential backoff (paho's has no
  jitter, and a room of kiosks reconnecting in step hammers the broker);
- MQTT v5 persistent session (``clean_start=False`` and a session expiry) so
  QoS 1 messages queued for us while we are away are delivered on return;
  MQTT 3.1.1 is supported too (``clean_session=False``) for brokers without v5.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from canopy.errors import UserError

log = logging.getLogger(__name__)


class TlsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: Path | None = Field(default=None, description="CA that signed the broker's cert")
    cert_file: Path | None = Field(default=None, description="client certificate (mutual TLS)")
    key_file: Path | None = None


class MqttSettings(BaseModel):
    """Broker connection; the same shape in the agent's and the bridge's config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    protocol: Literal["5", "3.1.1"] = "5"
    username: str | None = None
    password: SecretStr | None = None
    tls: TlsSettings | None = None
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    # Long enough to ride out a long outage: the broker keeps our queued
    # messages (acks for a kiosk, events for the bridge) this long.
    session_expiry_s: Annotated[int, Field(ge=0)] = 7 * 24 * 3600
    connect_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    backoff_min_s: Annotated[float, Field(gt=0)] = 0.5
    backoff_max_s: Annotated[float, Field(gt=0)] = 30.0


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    generation: int  # which connection delivered it; acks only go back on that one


class NotConnected(Exception):
    """Publishing needs a connection; the caller keeps the event and retries."""


# PUBACK reason codes we treat as "the broker took it". 0x10: no subscribers.
_ACCEPTED_REASONS = {0, 0x10}


def backoff_delays(minimum: float, maximum: float) -> Callable[[int], float]:
    """Full-jitter exponential backoff (AWS architecture blog): uniform in [0, min*2^n]."""

    def delay(attempt: int) -> float:
        ceiling = min(maximum, minimum * (2 ** min(attempt, 20)))
        return random.uniform(minimum / 2, max(ceiling, minimum))

    return delay


class MqttConnection:
    """One long-lived broker connection; ``run()`` keeps it up until cancelled.

    Callbacks run on the event loop thread: ``on_message(Message)``,
    ``on_connect(session_present)``, ``on_disconnect(reason)``,
    ``on_publish(mid, accepted, reason)``.
    """

    def __init__(
        self,
        settings: MqttSettings,
        *,
        client_id: str,
        manual_ack: bool = False,
        max_inflight: int = 100,
        receive_maximum: int | None = None,
        will: tuple[str, bytes, bool] | None = None,
        subscriptions: tuple[str, ...] = (),
        on_message: Callable[[Message], None] | None = None,
        on_connect: Callable[[bool], None] | None = None,
        on_disconnect: Callable[[str], None] | None = None,
        on_publish: Callable[[int, bool, str], None] | None = None,
        will_on_stop: bool = False,
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self._subscriptions = subscriptions
        self._on_message_cb = on_message
        self._on_connect_cb = on_connect
        self._on_disconnect_cb = on_disconnect
        self._on_publish_cb = on_publish
        # A broker sends the last will only when a connection drops without a DISCONNECT:
        # with ``will_on_stop`` a clean stop publishes the will's message itself first,
        # so what the will says (a bridge "offline") holds after a stop as after a crash.
        self._will = will if will_on_stop else None
        self._pubacks: dict[int, asyncio.Future[bool]] = {}
        self._v5 = settings.protocol == "5"
        self._receive_maximum = receive_maximum
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = asyncio.Event()
        # Set once the broker has answered every SUBSCRIBE of this connection: only
        # then is a message published elsewhere sure to reach us.
        self._subscribed = asyncio.Event()
        self._pending_subs: set[int] = set()
        self.refused_subscriptions: list[str] = []
        self._lost = asyncio.Event()
        self._misc_task: asyncio.Task[None] | None = None
        self._sock: Any = None
        self._generation = 0
        self._refused = False
        self.last_error = "not connected yet"

        kwargs: dict[str, Any] = {
            "callback_api_version": CallbackAPIVersion.VERSION2,
            "client_id": client_id,
            "protocol": paho.MQTTv5 if self._v5 else paho.MQTTv311,
            "manual_ack": manual_ack,
        }
        if not self._v5:
            kwargs["clean_session"] = False
        client = paho.Client(**kwargs)
        client.max_inflight_messages_set(max_inflight)
        client.max_queued_messages_set(0)
        client.connect_timeout = settings.connect_timeout_s
        if settings.username is not None:
            password = settings.password.get_secret_value() if settings.password else None
            client.username_pw_set(settings.username, password)
        if settings.tls is not None:
            client.tls_set_context(_tls_context(settings.tls))
        if will is not None:
            topic, payload, retain = will
            client.will_set(topic, payload, qos=1, retain=retain)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_socket_register_write
        client.on_socket_unregister_write = self._on_socket_unregister_write
        self._client = client

    # --- public surface -------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    @property
    def subscribed(self) -> bool:
        """Connected, and every subscription answered by the broker (granted or refused)."""
        return self._subscribed.is_set()

    async def wait_subscribed(self) -> None:
        """Until the broker has answered this connection's subscriptions (see ``subscribed``)."""
        await self._subscribed.wait()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> int:
        """Queue a publish; returns its mid. PUBACK arrives via ``on_publish``."""
        if not self._connected.is_set():
            raise NotConnected(self.last_error)
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_QUEUE_SIZE):
            raise NotConnected(paho.error_string(info.rc))
        return int(info.mid)

    def ack(self, message: Message) -> None:
        """Acknowledge a received message (manual_ack mode) once it is durable.

        Only on the connection that delivered it: after a reconnect the broker
        redelivers unacknowledged messages under new packet ids, and acking a
        stale id could acknowledge a different message we never stored.
        """
        if message.qos > 0 and message.generation == self._generation and self.connected:
            self._client.ack(message.mid, message.qos)

    async def run(self) -> None:
        """Connect, and reconnect with jittered backoff, until cancelled."""
        self._loop = asyncio.get_running_loop()
        delay = backoff_delays(self.settings.backoff_min_s, self.settings.backoff_max_s)
        attempt = 0
        first = True
        try:
            while True:
                self._lost.clear()
                try:
                    await self._connect(first)
                    first = False
                except (OSError, ssl.SSLError, ValueError) as exc:
                    self.last_error = f"cannot reach broker {self._where()}: {exc}"
                    log.warning("%s", self.last_error)
                    await asyncio.sleep(delay(attempt))
                    attempt += 1
                    continue
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
                    # cancellation that lands as the CONNACK arrives, and hang shutdown.
                    async with asyncio.timeout(self.settings.connect_timeout_s):
                        await self._wait_connack()
                except TimeoutError:
                    self.last_error = f"broker {self._where()} did not answer CONNECT"
                    log.warning("%s", self.last_error)
                    self._drop_socket()
                if self._connected.is_set():
                    attempt = 0
                    await self._lost.wait()
                await asyncio.sleep(delay(attempt))
                attempt += 1
        finally:
            if self._will is not None and self._connected.is_set():
                await self._last_words(self._will)
            self._connected.clear()
            self._drop_socket()

    async def close(self) -> None:
        """Disconnect cleanly (the broker does not send the last will)."""
        if self._sock is not None:
            self._client.disconnect()
            await asyncio.sleep(0)
        self._drop_socket()

    async def _last_words(self, will: tuple[str, bytes, bool], timeout: float = 2.0) -> None:
        """Publish ``will`` and wait (at most ``timeout``) for the broker to take it, then
        DISCONNECT: on a clean stop the broker would not send the will itself."""
        topic, payload, retain = will
        try:
            mid = self.publish(topic, payload, qos=1, retain=retain)
        except NotConnected:
            return
        assert self._loop is not None
        taken = self._pubacks[mid] = self._loop.create_future()
        done, _ = await asyncio.wait([taken], timeout=timeout)
        self._pubacks.pop(mid, None)
        if not done:
            log.warning("the broker did not confirm %s within %g s", topic, timeout)
        self._client.disconnect()
        self._client.loop_write()  # out now: the socket is closed right after

    # --- connection machinery ------------------------------------------------

    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    async def _connect(self, first: bool) -> None:
        assert self._loop is not None
        self._refused = False
        kwargs: dict[str, Any] = {"keepalive": self.settings.keepalive_s}
        if self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.settings.session_expiry_s
            if self._receive_maximum is not None:
                # How many unacked QoS 1 messages the broker may have out to us.
                props.ReceiveMaximum = self._receive_maximum
            kwargs["clean_start"] = False
            kwargs["properties"] = props
        # connect() blocks on TCP and TLS handshakes: keep it off the loop so the
        # kiosk keeps scanning while the Wi-Fi is bad.
        if first:
            await self._loop.run_in_executor(
                None, lambda: self._client.connect(self.settings.host, self.settings.port, **kwargs)
            )
        else:
            await self._loop.run_in_executor(None, self._client.reconnect)

    async def _wait_connack(self) -> None:
        waiters = [
            asyncio.ensure_future(self._connected.wait()),
            asyncio.ensure_future(self._lost.wait()),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _drop_socket(self) -> None:
        sock = self._sock
        if sock is not None and self._loop is not None:
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)
        self._sock = None
        if self._misc_task is not None:
            self._misc_task.cancel()
            self._misc_task = None
        # Let paho forget the dead socket without firing our callbacks again.
        try:
            self._client._sock_close()
        except Exception:  # pragma: no cover - best effort on an already-dead socket
            log.debug("closing paho socket failed", exc_info=True)
        if self._connected.is_set():
            self._connected.clear()
        self._lost.set()

    def _in_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop thread (paho calls some hooks from the executor)."""
        loop = self._loop
        assert loop is not None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn()
        else:
            loop.call_soon_threadsafe(fn)

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        def register() -> None:
            assert self._loop is not None
            self._sock = sock
            self._loop.add_reader(sock, self._readable)
            if self._misc_task is None:
                self._misc_task = self._loop.create_task(self._misc())

        self._in_loop(register)

    def _readable(self) -> None:
        client = self._client
        rc = client.loop_read()
        # TLS may hold decrypted bytes the fd no longer signals; drain them.
        sock = self._sock
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and sock is not None and _pending(sock):
            rc = client.loop_read()

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        def unregister() -> None:
            if self._loop is not None:
                self._loop.remove_reader(sock)
                self._loop.remove_writer(sock)
            if self._sock is sock:
                self._sock = None
            if self._misc_task is not None:
                self._misc_task.cancel()
                self._misc_task = None

        self._in_loop(unregister)

    def _on_socket_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        def register() -> None:
            if self._loop is not None:
                self._loop.add_writer(sock, self._client.loop_write)

        self._in_loop(register)

    def _on_socket_unregister_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        def unregister() -> None:
            if self._loop is not None:
                self._loop.remove_writer(sock)

        self._in_loop(unregister)

    async def _misc(self) -> None:
        # Keepalive pings and dead-peer detection, once a second as paho expects.
        while self._client.loop_misc() == MQTTErrorCode.MQTT_ERR_SUCCESS:  # noqa: ASYNC110
            await asyncio.sleep(1.0)

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self._refused = True
            self.last_error = f"broker {self._where()} refused the connection: {reason}"
            log.error("%s", self.last_error)
            self._lost.set()
            return
        self.last_error = ""
        self._generation += 1
        self._subscribed.clear()
        self._pending_subs = set()
        for topic in self._subscriptions:
            rc, mid = client.subscribe(topic, qos=1)
            if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
                self._pending_subs.add(mid)
        if not self._pending_subs:
            self._subscribed.set()
        self._connected.set()
        log.info("connected to %s as %s (session present: %s)", self._where(), self.client_id,
                 flags.session_present)
        if self._on_connect_cb is not None:
            self._on_connect_cb(bool(flags.session_present))

    def _on_subscribe(
        self, client: paho.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        refused = [str(r) for r in reasons if getattr(r, "is_failure", False)]
        if refused:
            # An ACL that does not grant a filter: say so once, loudly; the
            # connection stays up for the subscriptions that were granted.
            self.refused_subscriptions.extend(refused)
            log.error("broker %s refused a subscription of %s: %s", self._where(), self.client_id,
                      ", ".join(refused))
        self._pending_subs.discard(mid)
        if not self._pending_subs:
            self._subscribed.set()

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        self._subscribed.clear()
        if was_connected:
            self.last_error = f"disconnected from {self._where()}: {reason}"
            log.warning("%s", self.last_error)
        elif not self._refused:  # a refusal already said why; a TLS drop says nothing else
            tls = (": it refused the TLS client certificate (missing, revoked, expired or from"
                   " another CA)" if self.settings.tls is not None else "")
            self.last_error = (f"broker {self._where()} closed the connection before answering"
                               f" the login ({reason}){tls}")
        self._in_loop(self._lost.set)
        if self._on_disconnect_cb is not None:
            self._on_disconnect_cb(str(reason))

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        if self._on_message_cb is None:
            return
        self._on_message_cb(
            Message(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain), msg.mid, self._generation)
        )

    def _on_publish(
        self, client: paho.Client, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        code = int(reason.value) if hasattr(reason, "value") else int(reason)
        waiter = self._pubacks.pop(mid, None)
        if waiter is not None:
            if not waiter.done():
                waiter.set_result(code in _ACCEPTED_REASONS)
            return
        if self._on_publish_cb is None:
            return
        self._on_publish_cb(mid, code in _ACCEPTED_REASONS, str(reason))


def _pending(sock: Any) -> bool:
    pending = getattr(sock, "pending", None)
    return bool(pending()) if pending is not None else False


def _tls_context(tls: TlsSettings) -> ssl.SSLContext:
    # A bundle's config names where its TLS files are installed (/etc/canopy/...);
    # run from anywhere else, say which file is missing rather than a traceback.
    for key, path in (("mqtt.tls.ca_file", tls.ca_file), ("mqtt.tls.cert_file", tls.cert_file),
                      ("mqtt.tls.key_file", tls.key_file)):
        if path is not None and not path.is_file():
            raise UserError(f"{key}: {path} does not exist or is not a file (is the bundle installed?)")
    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca_file) if tls.ca_file else None
        )
        if tls.cert_file is not None:
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    except (ssl.SSLError, OSError) as exc:
        raise UserError(f"mqtt.tls: cannot load the TLS files ({exc})") from None
    return context


def client_id_for(*parts: str) -> str:
    """A stable client id; MQTT 3.1.1 brokers may cap it at 23 bytes, v5 does not."""
    return "-".join(p for p in parts if p) or socket.gethostname()


# --- for commands: one connection attempt with a clear outcome ------------------


class ConnectFailed(Exception):
    """The first connection attempt failed; the message says why, without secrets."""


async def wait_connected(
    conn: MqttConnection, task: asyncio.Task[None], timeout: float, dropped: Sequence[str] = ()
) -> None:
    """Wait until ``conn`` (whose ``run()`` is ``task``) is connected.

    ``MqttConnection`` retries forever, which is right for a daemon; a command
    wants the first outcome: ``ConnectFailed`` with the broker's or the socket's
    reason as soon as one attempt fails, or after ``timeout``. ``dropped`` is
    the list the connection's ``on_disconnect`` appends to: a broker that
    refuses a TLS client certificate closes the connection before any CONNACK,
    which leaves no other trace.
    """
    untouched = conn.last_error
    try:
        async with asyncio.timeout(timeout):
            while not conn.connected:
                if task.done():
                    raise ConnectFailed(conn.last_error or "the MQTT connection ended")
                if conn.last_error and conn.last_error != untouched:
                    raise ConnectFailed(conn.last_error)
                if dropped:  # MqttConnection says why in last_error (a TLS refusal, say)
                    raise ConnectFailed(conn.last_error or f"connection closed ({dropped[0]})")
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise ConnectFailed(
            f"no answer from broker {conn.settings.host}:{conn.settings.port} within {timeout:g} s"
        ) from None


async def stop(conn: MqttConnection, task: asyncio.Task[None]) -> None:
    """Disconnect cleanly and end the connection task."""
    await conn.close()
    await cancel(task)


async def cancel(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has really ended.

    On Python 3.11 ``asyncio.wait_for`` swallows a cancellation that arrives
    just as its inner future completes (fixed in 3.12), and the connection's
    run loop awaits one per attempt; so cancel again until the task is done.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=1.0)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()

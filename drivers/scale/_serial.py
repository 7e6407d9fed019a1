"""The real scale driver: one serial port, one protocol, reconnecting for ever.

One supervisor task owns the port: it waits for the port path to exist, opens
it with ``serial_asyncio_fast``, reads and frames bytes, and on any read error
or EOF (cable pulled, USB adapter gone) closes everything, reports
"scale disconnected" and starts polling the path again. Nothing that comes
over the wire can end that loop: unreadable frames are reported and dropped.

Requests and answers are paired by ``_exchange`` (one at a time); everything
the scale sends that parses as a weight is also fanned out to ``readings()``
subscribers, so a live display and a pending ``weigh()`` see the same frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import termios
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import Enum

import serial
from serial_asyncio_fast import open_serial_connection

from drivers.faults import DeviceFault
from drivers.scale._api import LinkState, ScaleStatus, StateCallback
from drivers.scale._config import ScaleConfig, ScaleIdentity
from drivers.scale._dialects import dialect
from drivers.scale._frames import Action, Command, FrameContext, Reply, UnreadableFrame
from drivers.scale._framing import Junk
from drivers.scale._reading import Reading, ReadingState, utc_now

_log = logging.getLogger(__name__)

# Plain-language messages, one place. Workflows may match on them.
DISCONNECTED = "scale disconnected"
UNREADABLE = "scale sent an unreadable reading"
NOT_ANSWERING = "scale not answering"
NOT_STABLE = "scale not stable"
OVERLOADED = "scale overloaded: take weight off"
BELOW_ZERO = "scale reads below zero: zero the scale"
COULD_NOT_WEIGH = "scale could not weigh"
CLOSED = "scale closed"
PORT_BUSY = "scale port is in use by another program"
NO_PERMISSION = "no permission to open the scale port"
BAD_SETTINGS = "scale port settings rejected"

_PARITY = {"none": serial.PARITY_NONE, "even": serial.PARITY_EVEN, "odd": serial.PARITY_ODD}
_GONE = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO}
_QUEUE_SIZE = 32


class _Signal(Enum):
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


class _Subscription:
    """A bounded queue that drops the oldest reading when full: a live display
    wants what the scale shows now, never a backlog of stale weights."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Reading | _Signal] = asyncio.Queue(_QUEUE_SIZE)

    def put(self, item: Reading | _Signal) -> None:
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                self.queue.get_nowait()


class ReadingStream(AsyncIterator[Reading]):
    """``scale.readings()``: subscribed from the moment it is created (no reading
    between the call and the first ``await`` is missed), ends at the scale's
    ``aclose()``. Close it (``aclose()`` or ``contextlib.aclosing``) when done so
    a polling scale stops being polled for it."""

    def __init__(self, scale: SerialScale) -> None:
        self._scale: SerialScale | None = scale
        self._sub: _Subscription | None = scale._subscribe() if not scale._closed else None

    async def __anext__(self) -> Reading:
        while self._sub is not None:
            item = await self._sub.queue.get()
            if isinstance(item, Reading):
                return item
            if item is _Signal.CLOSED:
                self._release()
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._release()

    def _release(self) -> None:
        if self._scale is not None and self._sub is not None:
            self._scale._unsubscribe(self._sub)
        self._scale = self._sub = None

    def __del__(self) -> None:  # a forgotten stream must not keep the poller running
        self._release()


@dataclass
class _Pending:
    command: Command
    action: Action
    future: asyncio.Future[Reading | Reply]
    junk: DeviceFault | None = field(default=None)
    status_answers: bool = False  # Dialect.status_answers

    def accepts(self, parsed: Reading | Reply) -> bool:
        if isinstance(parsed, Reading):
            # A value-less status reading (NCI "moving", "over capacity") answers any command.
            return self.command.answer == "reading" or (self.status_answers and parsed.value is None)
        if parsed.answers not in (None, self.action):
            return False
        # A weighing command is answered by a weight; a reply to it can only be a refusal
        # (an A&D ACK in front of the weight must not stand in for the weight).
        return self.command.answer != "reading" or not parsed.ok


def fault_from_exception(exc: BaseException, *, device: str) -> DeviceFault:
    """Map pyserial / OS / termios errors to floor language: the one place for this driver."""
    text = str(exc) or type(exc).__name__
    code = getattr(exc, "errno", None)
    if "exclusively lock" in text:
        return DeviceFault(PORT_BUSY, device=device, detail=text)
    if code in (errno.EACCES, errno.EPERM) or isinstance(exc, PermissionError):
        return DeviceFault(
            NO_PERMISSION, device=device, detail=f"{text} (is the kiosk user in group dialout?)"
        )
    if isinstance(exc, termios.error | ValueError) or (code == errno.EINVAL and "configure" in text):
        return DeviceFault(BAD_SETTINGS, device=device, detail=text)
    if code in _GONE or isinstance(exc, serial.SerialException | OSError | ConnectionError):
        return DeviceFault(DISCONNECTED, device=device, detail=text)
    return DeviceFault(DISCONNECTED, device=device, detail=f"{type(exc).__name__}: {text}")


class SerialScale:
    """A scale on a serial port (RS-232 via USB adapter, or the scale's own CDC-ACM USB).

    Create it inside a running event loop; it starts connecting at once and
    keeps reconnecting until ``aclose()``. It never raises from its own loop.
    """

    def __init__(self, config: ScaleConfig, *, on_state: StateCallback | None = None) -> None:
        if config.port is None:
            raise ValueError("SerialScale needs config.port")
        self.on_state = on_state
        self._config = config
        self._port = config.port
        self._dialect = dialect(config.protocol)
        self._settings = config.serial_settings
        self._device = f"scale {config.identity.id}"
        self._status = ScaleStatus(LinkState.CONNECTING)
        self._subs: set[_Subscription] = set()
        self._listening = asyncio.Event()  # someone wants readings: the poller runs
        self._up = asyncio.Event()
        self._io_lock = asyncio.Lock()
        self._pending: _Pending | None = None
        self._info: asyncio.Queue[Reply] | None = None  # lines of a version answer being collected
        self._writer: asyncio.StreamWriter | None = None
        self._framer = self._dialect.framer()
        self._closed = False
        self._task = asyncio.get_running_loop().create_task(
            self._supervise(), name=f"{self._device} on {self._port}"
        )

    # -- public surface ------------------------------------------------
    @property
    def identity(self) -> ScaleIdentity:
        return self._config.identity

    @property
    def config(self) -> ScaleConfig:
        return self._config

    @property
    def connected(self) -> bool:
        return self._status.connected

    @property
    def status(self) -> ScaleStatus:
        return self._status

    async def wait_connected(self, timeout: float) -> None:
        self._check_open()
        try:
            async with asyncio.timeout(timeout):
                await self._up.wait()
        except TimeoutError:
            last = self._status.fault
            raise DeviceFault(
                DISCONNECTED,
                device=self._device,
                detail=f"not connected after {timeout:g} s"
                + (f": {last.detail or last.message}" if last else ""),
            ) from None

    def readings(self) -> ReadingStream:
        return ReadingStream(self)

    async def weigh(self, *, immediate: bool = False) -> Reading:
        self._check_open()
        cfg = self._config
        if cfg.mode == "continuous":
            # The scale is streaming: the answer is simply what comes next.
            if immediate:
                return await self._await(cfg.reply_timeout, stable=False, repeats=1)
            return await self._await(cfg.stable_timeout, stable=True, repeats=1)
        if immediate:
            answer = await self._exchange(self._dialect.weigh_immediate, "weigh", cfg.reply_timeout)
            return self._as_reading(answer)
        command = self._dialect.weigh_stable
        if command is None:  # no "send when stable" command: watch the polled stream
            return await self._await(cfg.stable_timeout, stable=True, repeats=cfg.stable_repeats)
        # A "send when stable" command that stays unanswered usually means it never got
        # stable; a scale that is off also fails the polls with "not answering".
        answer = await self._exchange(command, "weigh", cfg.stable_timeout, slow=NOT_STABLE)
        reading = self._as_reading(answer)
        if reading.state is not ReadingState.STABLE:
            raise self._state_fault(reading)
        return reading

    async def next_stable(self, timeout: float) -> Reading:
        self._check_open()
        return await self._await(timeout, stable=True, repeats=self._config.stable_repeats)

    async def legal_for_trade(self) -> bool | None:
        """Whether the scale says it is in legal-for-trade mode (Ohaus ``PV`` answers ``LFT ON``).

        None when the protocol has no such question, commands are off (``listen_only``)
        or the scale refuses it; False when it answered its version without ``LFT ON``.
        """
        self._check_open()
        command = self._dialect.version
        if command is None or self._config.listen_only:
            return None
        lines = await self._ask_info(command)
        if any(not line.ok for line in lines):
            return None
        said = [line.legal_for_trade for line in lines if line.legal_for_trade is not None]
        return said[-1] if said else False

    async def _ask_info(self, command: Command) -> list[Reply]:
        """Send ``command`` and collect its ``info`` lines: until an LFT line, a refusal, or
        ``ack_window`` of quiet after the last line (the answer has no end marker)."""
        async with self._io_lock:
            writer = self._writer
            if writer is None or not self._up.is_set():
                raise DeviceFault(DISCONNECTED, device=self._device, detail="port not open")
            queue: asyncio.Queue[Reply] = asyncio.Queue()
            self._info = queue
            lines: list[Reply] = []
            try:
                writer.write(command.request)
                wait = self._config.reply_timeout
                while True:
                    try:
                        async with asyncio.timeout(wait):
                            line = await queue.get()
                    except TimeoutError:
                        break
                    lines.append(line)
                    if not line.ok or line.legal_for_trade is not None:
                        break
                    wait = self._config.ack_window
            finally:
                self._info = None
        if not lines:
            raise DeviceFault(NOT_ANSWERING, device=self._device,
                              detail=f"no answer to {command.request!r} within "
                                     f"{self._config.reply_timeout:g} s")
        return lines

    async def tare(self) -> None:
        await self._command("tare", self._dialect.tare, "scale could not tare")

    async def zero(self) -> None:
        await self._command("zero", self._dialect.zero, "scale could not zero")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        writer, stop, cfg = self._writer, self._dialect.stream_stop, self._config
        if writer is not None and stop and cfg.mode == "continuous" and not cfg.listen_only:
            with contextlib.suppress(Exception):
                writer.write(stop)  # be polite: leave the scale as we found it
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # our caller is being cancelled too: do not swallow that
        self._fail_pending(DeviceFault(CLOSED, device=self._device))
        self._broadcast(_Signal.CLOSED)
        self._set_status(LinkState.CLOSED, None)

    async def __aenter__(self) -> SerialScale:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- connection supervisor ------------------------------------------
    async def _supervise(self) -> None:
        while not self._closed:
            try:
                reader, writer = await self._open()
            except DeviceFault as open_fault:
                self._set_status(LinkState.DISCONNECTED, open_fault)
            except Exception as exc:  # never let the supervisor die
                _log.exception("%s: unexpected error opening %s", self._device, self._port)
                self._set_status(LinkState.DISCONNECTED, fault_from_exception(exc, device=self._device))
            else:
                fault = await self._session(reader, writer)
                if self._closed:
                    return
                self._set_status(LinkState.DISCONNECTED, fault)
                self._broadcast(_Signal.DISCONNECTED)
            await asyncio.sleep(self._config.reconnect_interval)

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if not os.path.exists(self._port):  # noqa: ASYNC240 - one stat of a /dev path
            raise DeviceFault(
                DISCONNECTED, device=self._device, detail=f"{self._port} is not there (unplugged?)"
            )
        s = self._settings
        try:
            return await open_serial_connection(
                url=self._port,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=_PARITY[s.parity],
                stopbits=s.stopbits,
                xonxoff=s.flow_control == "xonxoff",
                rtscts=s.flow_control == "rtscts",
                exclusive=True,  # two programs reading one scale steal each other's frames
            )
        except Exception as exc:
            raise fault_from_exception(exc, device=self._device) from exc

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> DeviceFault:
        """Run one connection until it breaks; return why it broke."""
        self._writer = writer
        self._framer = self._dialect.framer()
        self._up.set()
        self._set_status(LinkState.CONNECTED, None)
        poller: asyncio.Task[None] | None = None
        try:
            cfg = self._config
            if cfg.mode == "continuous" and not cfg.listen_only and self._dialect.stream_start:
                writer.write(self._dialect.stream_start)
            if cfg.mode == "poll":
                poller = asyncio.create_task(self._poll_loop(), name=f"{self._device} poller")
            return await self._read_loop(reader)
        finally:
            self._up.clear()
            self._writer = None
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            self._fail_pending(DeviceFault(DISCONNECTED, device=self._device))
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await writer.wait_closed()

    async def _read_loop(self, reader: asyncio.StreamReader) -> DeviceFault:
        while True:
            try:
                data = await reader.read(1024)
            except Exception as exc:  # SerialException/OSError: the device went away
                return fault_from_exception(exc, device=self._device)
            if not data:
                return DeviceFault(DISCONNECTED, device=self._device, detail="port closed (EOF)")
            for item in self._framer.feed(data):
                try:
                    self._handle(item)
                except Exception:  # a bug in a parser must not stop the scale
                    _log.exception("%s: failed to handle frame %r", self._device, item)

    async def _poll_loop(self) -> None:
        cfg = self._config
        while True:
            await self._listening.wait()
            try:
                answer = await self._exchange(self._dialect.weigh_immediate, "weigh", cfg.reply_timeout)
            except DeviceFault as fault:
                if fault.message != DISCONNECTED:
                    self._set_status(self._status.link, fault)
            else:
                if isinstance(answer, Reply) and not answer.ok:
                    self._set_status(
                        self._status.link,
                        DeviceFault(answer.message, device=self._device, detail=answer.detail),
                    )
            await asyncio.sleep(cfg.poll_interval)

    # -- frames in ---------------------------------------------------------
    def _handle(self, item: bytes | Junk) -> None:
        if self._dialect.is_echo(item.data if isinstance(item, Junk) else item):
            _log.debug("%s: command echoed back: %r", self._device, item)
            return
        if isinstance(item, Junk):
            self._unreadable(item.data, item.reason)
            return
        ctx = FrameContext(scale_id=self.identity.id, at=utc_now(), unit=self._config.unit)
        try:
            parsed = self._dialect.parse(item, ctx)
        except UnreadableFrame as exc:
            self._unreadable(item, exc.reason)
            return
        if parsed is None:
            return
        if self._status.fault is not None and self._status.connected:
            self._set_status(LinkState.CONNECTED, None)  # the scale talks sense again
        info = self._info
        if info is not None and isinstance(parsed, Reply) and (parsed.answers == "info" or not parsed.ok):
            info.put_nowait(parsed)
            return
        pending = self._pending
        accepted = pending is not None and not pending.future.done() and pending.accepts(parsed)
        if accepted and pending is not None:
            pending.future.set_result(parsed)
        if isinstance(parsed, Reading):
            self._broadcast(parsed)
        elif not accepted:
            _log.debug("%s: unsolicited reply %r", self._device, parsed.raw)

    def _unreadable(self, data: bytes, reason: str) -> None:
        fault = DeviceFault(UNREADABLE, device=self._device, detail=f"{reason}: {data[:80]!r}")
        _log.warning("%s: %s", self._device, fault.detail)
        if self._pending is not None:
            self._pending.junk = fault
        self._set_status(self._status.link, fault)

    # -- requests out -------------------------------------------------------
    async def _exchange(
        self, command: Command, action: Action, limit: float, *, slow: str = NOT_ANSWERING
    ) -> Reading | Reply | None:
        """Send one command and wait for the frame that answers it (one exchange at a time).

        Returns ``None`` only for commands the protocol does not acknowledge,
        when no refusal came within ``ack_window``.
        """
        async with self._io_lock:
            writer = self._writer
            if writer is None or not self._up.is_set():
                raise DeviceFault(DISCONNECTED, device=self._device, detail="port not open")
            if self._config.mode == "poll":
                # Nothing is due before we ask: leftovers are a cut-off frame.
                junk = self._framer.discard_partial()
                if junk is not None:
                    self._unreadable(junk.data, junk.reason)
            future: asyncio.Future[Reading | Reply] = asyncio.get_running_loop().create_future()
            pending = _Pending(command, action, future, status_answers=self._dialect.status_answers)
            self._pending = pending
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
            # cancellation that lands just as the answer arrives (gh-86296), which
            # left the poller running after aclose().
            try:
                writer.write(command.request)
                if command.answer == "none":
                    try:
                        async with asyncio.timeout(self._config.ack_window):
                            return await future
                    except TimeoutError:
                        return None  # not acknowledged, by design of the protocol
                try:
                    async with asyncio.timeout(limit):
                        return await future
                except TimeoutError:
                    raise pending.junk or DeviceFault(
                        slow,
                        device=self._device,
                        detail=f"no answer to {command.request!r} within {limit:g} s; check the "
                        f"cable and that the scale is set to {self._dialect.name} at "
                        f"{self._settings.baudrate} baud",
                    ) from None
            finally:
                if self._pending is pending:
                    self._pending = None

    async def _command(self, action: Action, command: Command | None, failed: str) -> None:
        self._check_open()
        if command is None or self._config.listen_only:
            why = "listen_only is set" if command else f"{self._dialect.name} has no {action} command"
            raise DeviceFault(f"this scale has no {action} command", device=self._device, detail=why)
        # MT-SICS T/Z wait for stability before answering: allow the stable timeout.
        answer = await self._exchange(command, action, self._config.stable_timeout)
        if isinstance(answer, Reply) and not answer.ok:
            raise DeviceFault(answer.message or failed, device=self._device, detail=answer.detail)
        if isinstance(answer, Reading) and (
            answer.state in (ReadingState.ERROR, ReadingState.OVERLOAD, ReadingState.UNDERLOAD)
            or answer.value is None  # a status-only answer: moving, so nothing was done
        ):
            raise DeviceFault(failed, device=self._device, detail=answer.detail or repr(answer.raw))

    def _as_reading(self, answer: Reading | Reply | None) -> Reading:
        if isinstance(answer, Reading):
            return answer
        if isinstance(answer, Reply):
            raise DeviceFault(
                answer.message or "scale refused the command",
                device=self._device,
                detail=answer.detail,
            )
        raise DeviceFault(NOT_ANSWERING, device=self._device, detail="no weight in the answer")

    # -- waiting on the stream ---------------------------------------------
    async def _await(self, limit: float, *, stable: bool, repeats: int) -> Reading:
        """The next reading (``stable=False``) or the next stable one, seen ``repeats``
        times in a row with the same value, unit and basis. Never an unstable one."""
        if not self.connected:
            raise self._disconnected()
        sub = self._subscribe()
        last: Reading | None = None
        run, previous = 0, None
        try:
            async with asyncio.timeout(limit):
                while True:
                    item = await sub.queue.get()
                    if item is _Signal.DISCONNECTED:
                        raise self._disconnected()
                    if item is _Signal.CLOSED:
                        raise DeviceFault(CLOSED, device=self._device)
                    assert isinstance(item, Reading)
                    last = item
                    if not stable:
                        return item
                    if item.state is not ReadingState.STABLE:
                        run, previous = 0, None
                        continue
                    key = (item.value, item.unit, item.basis)
                    run = run + 1 if key == previous else 1
                    previous = key
                    if run >= repeats:
                        return item
        except TimeoutError:
            raise self._timeout_fault(last, limit) from None
        finally:
            self._unsubscribe(sub)

    def _timeout_fault(self, last: Reading | None, timeout: float) -> DeviceFault:
        if last is None:
            if not self.connected:
                return self._disconnected()
            current = self._status.fault
            if current is not None and current.message == UNREADABLE:
                return current
            return DeviceFault(NOT_ANSWERING, device=self._device, detail=f"no reading within {timeout:g} s")
        if last.state in (ReadingState.STABLE, ReadingState.UNSTABLE):
            return DeviceFault(
                NOT_STABLE,
                device=self._device,
                detail=f"no steady stable reading within {timeout:g} s (last: {last.raw!r})",
            )
        return self._state_fault(last)

    def _state_fault(self, reading: Reading) -> DeviceFault:
        message = {
            ReadingState.OVERLOAD: OVERLOADED,
            ReadingState.UNDERLOAD: BELOW_ZERO,
            ReadingState.UNSTABLE: NOT_STABLE,
        }.get(reading.state, COULD_NOT_WEIGH)
        return DeviceFault(message, device=self._device, detail=reading.detail or repr(reading.raw))

    def _disconnected(self) -> DeviceFault:
        last = self._status.fault
        return DeviceFault(DISCONNECTED, device=self._device, detail=last.detail if last else "not connected")

    # -- plumbing -----------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise DeviceFault(CLOSED, device=self._device, detail="aclose() was called")

    def _subscribe(self) -> _Subscription:
        sub = _Subscription()
        self._subs.add(sub)
        self._listening.set()
        return sub

    def _unsubscribe(self, sub: _Subscription) -> None:
        self._subs.discard(sub)
        if not self._subs:
            self._listening.clear()

    def _broadcast(self, item: Reading | _Signal) -> None:
        for sub in self._subs:
            sub.put(item)

    def _fail_pending(self, fault: DeviceFault) -> None:
        pending = self._pending
        if pending is not None and not pending.future.done():
            pending.future.set_exception(fault)

    def _set_status(self, link: LinkState, fault: DeviceFault | None) -> None:
        old = self._status
        same_fault = (old.fault is None and fault is None) or (
            old.fault is not None and fault is not None and old.fault.message == fault.message
        )
        if old.link is link and same_fault:
            return
        self._status = ScaleStatus(link, fault)
        if fault is not None:
            _log.warning("%s: %s (%s)", self._device, fault.message, fault.detail)
        else:
            _log.info("%s: %s", self._device, link.value)
        callback = self.on_state
        if callback is not None:
            try:
                callback(self._status)
            except Exception:  # a broken observer must not break the scale
                _log.exception("%s: on_state callback failed", self._device)

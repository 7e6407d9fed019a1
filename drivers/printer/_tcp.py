"""Raw TCP (port 9100 "JetDirect") for networked printers, with timeouts.

Shared by the Zebra driver and the networked Brother. asyncio rather than a
blocking socket: connecting to a printer that is switched off can otherwise hang
for minutes in the kernel's SYN retries, and a stuck thread cannot be cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from drivers.printer._types import PrinterFault, printer_fault

DEFAULT_PORT = 9100


def parse_tcp_url(url: str) -> tuple[str, int]:
    """``tcp://host[:port]`` (IPv6 as ``tcp://[::1]:9100``) -> (host, port)."""
    parts = urlsplit(url if "://" in url else f"tcp://{url}")
    if parts.scheme != "tcp" or not parts.hostname:
        raise ValueError(f"not a tcp://host[:port] url: {url!r}")
    return parts.hostname, parts.port or DEFAULT_PORT


@asynccontextmanager
async def tcp_connection(
    url: str, *, device: str, wait: float
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """Open, yield, close. Connection problems become ``DeviceFault``s here, once."""
    host, port = parse_tcp_url(url)
    try:
        async with asyncio.timeout(wait):
            reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        raise printer_fault(
            PrinterFault.NOT_CONNECTED, device=device, detail=f"no answer from {host}:{port}"
        ) from None
    except OSError as exc:
        raise printer_fault(
            PrinterFault.NOT_CONNECTED, device=device, detail=f"{host}:{port}: {exc}"
        ) from exc
    try:
        yield reader, writer
    except TimeoutError:
        raise printer_fault(
            PrinterFault.COMMUNICATION, device=device, detail=f"{host}:{port} stopped answering"
        ) from None
    except (OSError, EOFError) as exc:  # reset, broken pipe, closed mid-reply
        raise printer_fault(
            PrinterFault.COMMUNICATION, device=device, detail=f"{host}:{port}: {exc!r}"
        ) from exc
    finally:
        writer.close()
        try:
            async with asyncio.timeout(wait):
                await writer.wait_closed()
        except (OSError, TimeoutError):
            pass  # the job is already out or already failed; closing cannot change that


async def send_bytes(writer: asyncio.StreamWriter, data: bytes, *, wait: float) -> None:
    """Write all of ``data``; a printer that stops reading becomes a timeout, not a hang."""
    writer.write(data)
    async with asyncio.timeout(wait):
        await writer.drain()

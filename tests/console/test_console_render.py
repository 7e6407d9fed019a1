"""PDFs are made in a process of their own (console.render): the same document as made in
the console's process, and a renderer whose process died makes the next one in a new one."""

from __future__ import annotations

import io
import multiprocessing
import os
import signal

from pypdf import PdfReader

from bridge.reports import Report
from console.export import Heading, as_pdf
from console.render import PdfRenderer

HEADING = Heading("Waste and destruction", "Green Valley Farms (licence CA-LIC-0001)",
                  "2026-11-01 to 2026-11-30", "2026-12-07 09:00 PST", "casey (Compliance manager)")
ROWS = [(f"2026-11-{d:02d} 10:00", f"1A4FF01000000220000{d:05d}", f"{d}.5 g") for d in range(1, 31)]
SECTIONS = [Report("Waste", ("when", "tag", "weight"), list(ROWS))]


def text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_a_pdf_made_in_the_renderers_process_is_the_one_made_here() -> None:
    renderer = PdfRenderer()
    try:
        made = await renderer.pdf(SECTIONS, HEADING, ["One note."])
    finally:
        renderer.close()
    assert text(made) == text(as_pdf(SECTIONS, HEADING, ["One note."]))
    assert "1A4FF0100000022000000030" in text(made)


async def test_a_renderer_whose_process_was_killed_makes_the_next_pdf_in_a_new_one() -> None:
    renderer = PdfRenderer()
    try:
        before = set(multiprocessing.active_children())
        first = await renderer.pdf(SECTIONS, HEADING)
        workers = [p for p in multiprocessing.active_children() if p not in before]
        assert len(workers) == 1 and workers[0].pid is not None
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].join(10)
        again = await renderer.pdf(SECTIONS, HEADING)
        assert text(again) == text(first)
        replaced = [p for p in multiprocessing.active_children() if p not in before]
        assert len(replaced) == 1 and replaced[0].pid != workers[0].pid
    finally:
        renderer.close()

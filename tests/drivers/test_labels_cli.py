"""``canopy label preview`` writes a PNG that scans back as the UID."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from canopy.errors import UserError
from cli.commands import label

UID = "1A4FF0100000022000000123"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="canopy")
    label.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["label", "preview", *argv])
    code: int = args.func(args)
    return code


def test_preview_writes_a_scannable_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lot.png"
    code = run(
        "lot", UID, "--strain", "Blue Dream", "--count", "12", "--date", "2025-03-01", "-o", str(out),
    )  # fmt: skip
    assert code == 0
    assert str(out) in capsys.readouterr().out
    with Image.open(out) as image:
        assert image.width == 696
        found = {(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)}
    assert found == {("Code128", UID)}


@pytest.mark.parametrize(("symbol", "name"), [("datamatrix", "DataMatrix"), ("qr", "QR")])
def test_preview_refuses_a_2d_twin_and_says_why(tmp_path: Path, symbol: str, name: str) -> None:
    out = tmp_path / "p.png"
    with pytest.raises(UserError, match=f"a {name} twin does not scan on a worn printer"):
        run("plant", UID, "--strain", "Blue Dream", "--symbol", symbol, "-o", str(out))
    assert not out.exists()


def test_preview_on_29mm_and_zebra_media(tmp_path: Path) -> None:
    out = tmp_path / "p.png"
    assert run("package", UID, "--item", "Flower", "--quantity", "28.00 g", "--media", "29",
               "-o", str(out)) == 0  # fmt: skip
    with Image.open(out) as image:
        assert image.width == 306
        assert {r.text for r in zxingcpp.read_barcodes(image)} == {UID}
    assert run("location", "ROOM-F2", "--name", "Flower 2", "--media", "101.6x101.6",
               "--dpi", "203", "-o", str(out)) == 0  # fmt: skip
    with Image.open(out) as image:
        assert image.size == (812, 812)
        assert {r.text for r in zxingcpp.read_barcodes(image)} == {"ROOM-F2"}


def test_default_output_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("plant", UID, "--strain", "Blue Dream") == 0
    assert (tmp_path / f"plant-{UID}.png").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("plant", UID), "needs --strain"),
        (("location", UID, "--name", "F2", "--strain", "x"), "no use for --strain"),
        (("plant", "bad uid ", "--strain", "x"), "printable ASCII"),
        (("plant", UID, "--strain", "x", "--media", "A4"), "unknown label media"),
        (("plant", "1A4ABCDEFABCDEFABCDEFABC", "--strain", "x", "--media", "29x42"), "does not fit"),
    ],
)
def test_operator_mistakes_are_user_errors(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(UserError, match=message):
        run(*argv)

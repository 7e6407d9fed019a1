"""The public surface: Reading rules, ScaleConfig validation and defaults, open_scale."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from drivers.scale import (
    MASS_UNITS,
    Reading,
    ReadingState,
    ScaleConfig,
    ScaleIdentity,
    SerialScale,
    SimScale,
    WeightBasis,
    open_scale,
)
from drivers.scale.testing import normalize_unit

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def reading(**overrides: object) -> Reading:
    values: dict[str, object] = {
        "value": Decimal("1.00"),
        "unit": "g",
        "state": ReadingState.STABLE,
        "raw": b"S S       1.00 g\r\n",
        "at": NOW,
        "scale_id": "s1",
    }
    return Reading(**{**values, **overrides})  # type: ignore[arg-type]


def test_loggable_means_stable_mass_of_the_load() -> None:
    assert reading().is_loggable
    assert reading(value=Decimal("-0.02")).is_loggable  # the sign is the workflow's business
    assert reading(basis=WeightBasis.NET).is_loggable
    assert not reading(state=ReadingState.UNSTABLE).is_loggable
    assert not reading(unit="pcs").is_loggable
    assert not reading(unit="ct").is_loggable
    assert not reading(unit="ozt").is_loggable
    assert not reading(basis=WeightBasis.TARE).is_loggable
    assert not reading(basis=WeightBasis.TOTAL).is_loggable
    assert not reading(high_resolution=True).is_loggable


def test_reading_invariants() -> None:
    with pytest.raises(ValueError, match="needs a value"):
        reading(value=None)
    for state in (ReadingState.OVERLOAD, ReadingState.UNDERLOAD, ReadingState.ERROR):
        with pytest.raises(ValueError, match="carries no value"):
            reading(state=state)
    with pytest.raises(ValueError, match="timezone"):
        reading(at=datetime(2026, 1, 1))
    assert reading(state=ReadingState.UNSTABLE, value=None).value is None  # Toledo motion frame
    with pytest.raises(AttributeError):
        reading().value = Decimal("2")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        (" kg", "kg"),
        ("LB", "lb"),
        ("lbs", "lb"),
        ("  g", "g"),
        ("OZ", "oz"),
        ("PC", "pcs"),
        ("PCS", "pcs"),
        ("ozt", "ozt"),
        ("GN", "gn"),
        ("mg", "mg"),
        ("%", "%"),
        ("furlong", "furlong"),
    ],
)
def test_units_are_normalised_not_converted(text: str, unit: str) -> None:
    assert normalize_unit(text) == unit


def test_mass_units() -> None:
    assert {"g", "kg", "lb", "oz"} <= MASS_UNITS
    assert not {"ct", "pcs", "ozt", "%"} & MASS_UNITS


def test_config_defaults_and_protocol_line_settings() -> None:
    cfg = ScaleConfig()
    assert (cfg.kind, cfg.protocol, cfg.mode) == ("sim", "mt-sics", "poll")
    expected = {
        "mt-sics": (9600, 8, "none", 1, "xonxoff"),
        "toledo-8217": (9600, 7, "even", 1, "none"),
        "ohaus": (9600, 8, "none", 1, "none"),
        "and": (2400, 7, "even", 1, "none"),
        "sma": (9600, 8, "none", 1, "none"),
        "nci": (9600, 7, "even", 1, "none"),
    }
    for protocol, line in expected.items():
        s = ScaleConfig(protocol=protocol, unit="lb" if protocol == "toledo-8217" else None).serial_settings  # type: ignore[arg-type]
        assert (s.baudrate, s.bytesize, s.parity, s.stopbits, s.flow_control) == line


def test_explicit_line_settings_win() -> None:
    s = ScaleConfig(
        protocol="and", baudrate=9600, bytesize=8, parity="none", flow_control="rtscts"
    ).serial_settings
    assert (s.baudrate, s.bytesize, s.parity, s.flow_control) == (9600, 8, "none", "rtscts")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kind": "serial"}, "needs port"),
        ({"protocol": "toledo-8217"}, "carry no unit"),
        ({"protocol": "ohaus", "unit": "g"}, "only for toledo-8217"),
        ({"listen_only": True}, "listen_only needs mode"),
        ({"protocl": "ohaus"}, "Extra inputs are not permitted"),  # a typo is an error
        ({"protocol": "dymo"}, "Input should be"),
        ({"poll_interval": 0}, "greater than 0"),
        ({"bytesize": 6}, "Input should be"),
        ({"identity": {"ntep": "x"}}, "Extra inputs are not permitted"),
    ],
)
def test_config_rejects_mistakes(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScaleConfig(**values)  # type: ignore[arg-type]


def test_config_is_frozen_and_loads_from_toml_like_data() -> None:
    cfg = ScaleConfig.model_validate(
        {
            "kind": "serial",
            "protocol": "mt-sics",
            "port": "/dev/serial/by-id/usb-FTDI_FT232R_A10K1ABC-if00-port0",
            "mode": "continuous",
            "identity": {
                "id": "flower-room-1",
                "model": "ICS425",
                "serial": "B021002593",
                "ntep_coc": "13-123",
                "seal_number": "CA-0042",
                "registration_number": "R-7",
                "registration_expires": "2026-12-31",
            },
        }
    )
    assert cfg.identity.registration_expires == date(2026, 12, 31)
    assert not cfg.identity.registration_expired(date(2026, 12, 31))
    assert cfg.identity.registration_expired(date(2027, 1, 1))
    assert not ScaleIdentity().registration_expired(date(2099, 1, 1))  # unknown is not "expired"
    with pytest.raises(ValidationError):
        cfg.mode = "poll"


async def test_open_scale_picks_the_implementation() -> None:
    sim = open_scale(ScaleConfig(identity=ScaleIdentity(id="bench")))
    assert isinstance(sim, SimScale)
    assert sim.identity.id == "bench"
    await sim.wait_connected(5)
    await sim.aclose()
    real = open_scale(
        ScaleConfig(kind="serial", port="/dev/serial/by-id/nothing-here", reconnect_interval=0.05)
    )
    assert isinstance(real, SerialScale)
    assert not real.connected
    await real.aclose()

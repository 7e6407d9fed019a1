"""How the bridge's TOML config names a BioTrack connection."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class BioTrackConfig(BaseModel):
    """One BioTrack classic (``serverjson.asp``) account.

    ``license_number`` is what BioTrack's login calls it, but it is the
    *company* (UBI) id; ``location`` is the facility's location license that
    plant_new, harvest, cure, waste and split carry (state-apis.md §3.2).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(
        description="Server URL, e.g. https://mcp-tracking.nmhealth.org/serverjson.asp; "
        "'/serverjson.asp' is appended when the path is missing.",
    )
    license_number: str = Field(min_length=1, description="Company (UBI) id used to log in.")
    username: str = Field(min_length=1)
    password: SecretStr
    location: str | None = Field(default=None, description="Location license number.")
    training: bool = Field(default=False, description="Send every call in training mode.")
    timeout_s: float = Field(default=30.0, gt=0, description="Per-request timeout.")

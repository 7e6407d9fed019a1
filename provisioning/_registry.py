"""The provisioning directory: one facility's CA, its enrolled identities and the CRL.

    <dir>/ca.crt          facility CA certificate (public; goes into every bundle)
    <dir>/ca.key          its private key, 0600: whoever has it can mint kiosks
    <dir>/registry.json   enrolled kiosks and bridges, 0600 (password hashes)
    <dir>/crl.pem         revoked certificates, re-signed on every revocation

The registry keeps password *hashes* only, so the broker's password file can be
rewritten at any time (``canopy provision broker``) and a plaintext password
exists in exactly one place: the device's bundle.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Literal

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from canopy.errors import UserError
from canopy.topics import NAME_PATTERN, valid_name
from provisioning._files import PUBLIC_MODE, SECRET_MODE, ensure_dir, write_file
from provisioning._pki import CertKey, build_crl, load_cert_key, new_ca

Role = Literal["kiosk", "bridge"]


class Identity(BaseModel):
    """One broker login: a kiosk or a bridge process."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)  # device id / bridge id = MQTT username = cert CN
    role: Role
    facility: str = Field(pattern=NAME_PATTERN)
    room: str | None = None
    password_hash: str
    cert_serial: int
    cert_expires: dt.datetime
    enrolled: dt.datetime
    twin_serial: int | None = None  # a bridge's fleet-view certificate (canopy.topics.fleet_login)


class Revoked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    role: Role
    cert_serial: int
    at: dt.datetime
    reason: str


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    facility: str = Field(pattern=NAME_PATTERN)
    identities: dict[str, Identity] = {}
    revoked: list[Revoked] = []
    # Broker directories written from this registry; `revoke` refreshes them.
    broker_dirs: list[str] = []


class FacilityCA:
    """A provisioning directory, opened or created; every change is saved at once."""

    def __init__(self, path: Path, ca: CertKey, registry: Registry) -> None:
        self.path = path
        self.ca = ca
        self.registry = registry

    @property
    def facility(self) -> str:
        return self.registry.facility

    @classmethod
    def create(cls, path: Path, facility: str) -> FacilityCA:
        if not valid_name(facility):
            raise UserError(
                f"facility {facility!r} must be letters, digits, '.', '_' or '-' (one topic level)"
            )
        if (path / "ca.key").exists() or (path / "registry.json").exists():
            raise UserError(f"{path} already holds a facility CA; refusing to replace it")
        ensure_dir(path, 0o700)
        ca = new_ca(facility)
        made = cls(path, ca, Registry(facility=facility))
        write_file(path / "ca.key", ca.key_pem, SECRET_MODE)
        write_file(path / "ca.crt", ca.cert_pem, PUBLIC_MODE)
        made.save()
        return made

    @classmethod
    def open(cls, path: Path) -> FacilityCA:
        try:
            ca = load_cert_key((path / "ca.crt").read_bytes(), (path / "ca.key").read_bytes())
            raw = json.loads((path / "registry.json").read_text())
        except FileNotFoundError as exc:
            raise UserError(
                f"{path} is not a provisioning directory ({Path(exc.filename).name} missing);"
                " create one with `canopy provision ca`"
            ) from None
        except (ValueError, OSError) as exc:
            raise UserError(f"{path}: cannot read the facility CA or registry: {exc}") from None
        try:
            registry = Registry.model_validate(raw)
        except ValidationError as exc:
            raise UserError(f"{path / 'registry.json'} is damaged: {exc.errors()[0]['msg']}") from None
        return cls(path, ca, registry)

    def save(self) -> None:
        """Write the registry and the CRL that follows from it."""
        text = json.dumps(self.registry.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
        write_file(self.path / "registry.json", text.encode(), SECRET_MODE)
        write_file(self.path / "crl.pem", self.crl_pem(), PUBLIC_MODE)

    def crl_pem(self) -> bytes:
        # Re-signing changes the bytes (signature, dates): only do it when the
        # revoked set changed, so a no-op `save` leaves files as they were.
        current = self.path / "crl.pem"
        serials = {r.cert_serial for r in self.registry.revoked}
        if current.exists():
            try:
                crl = x509.load_pem_x509_crl(current.read_bytes())
                if crl.is_signature_valid(self.ca.key.public_key()) and {
                    r.serial_number for r in crl
                } == serials:
                    return current.read_bytes()
            except ValueError:
                pass
        return build_crl(self.ca, ((r.cert_serial, r.at) for r in self.registry.revoked))

    # --- identities ------------------------------------------------------------

    def active(self, role: Role | None = None) -> list[Identity]:
        return sorted(
            (i for i in self.registry.identities.values() if role is None or i.role == role),
            key=lambda i: i.name,
        )

    def add(self, identity: Identity, *, replace: bool) -> None:
        """Record ``identity``; an existing one of that name is revoked first if ``replace``."""
        existing = self.registry.identities.get(identity.name)
        if existing is not None:
            if not replace:
                raise UserError(
                    f"{identity.name} is already enrolled ({existing.role}, {existing.enrolled:%Y-%m-%d});"
                    " use --replace to issue new credentials (the old ones stop working)"
                )
            self._revoke(existing, "replaced by a new enrollment")
        self.registry.identities[identity.name] = identity
        self.save()

    def revoke(self, name: str, reason: str = "revoked") -> Identity:
        identity = self.registry.identities.get(name)
        if identity is None:
            known = ", ".join(sorted(self.registry.identities)) or "none"
            raise UserError(f"{name} is not enrolled in {self.path} (enrolled: {known})")
        self._revoke(identity, reason)
        self.save()
        return identity

    def _revoke(self, identity: Identity, reason: str) -> None:
        del self.registry.identities[identity.name]
        at = dt.datetime.now(dt.UTC).replace(microsecond=0)
        serials = [identity.cert_serial, *([identity.twin_serial] if identity.twin_serial else [])]
        self.registry.revoked.extend(
            Revoked(name=identity.name, role=identity.role, cert_serial=serial, at=at, reason=reason)
            for serial in serials
        )

    def remember_broker(self, path: Path) -> None:
        where = str(path.resolve())
        if where not in self.registry.broker_dirs:
            self.registry.broker_dirs.append(where)
            self.save()

"""An enrollment bundle: everything one kiosk (or bridge) needs, in one directory or tarball.

    manifest.json   what is inside: role, facility, name, broker, each file's
                    sha256 and mode (secrets 0600)
    agent.toml | bridge.toml, ca.crt, client.crt, client.key, unit files, udev rules

The installer trusts nothing but the manifest's hashes: a file that is missing,
extra, changed or not a plain file stops the install. A tarball is
deterministic (sorted, fixed times and owners) so the same bundle always has
the same bytes; it keeps the modes, so secrets stay 0600 on a USB stick too.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from canopy.errors import UserError
from canopy.topics import NAME_PATTERN
from provisioning._files import SECRET_MODE, ensure_dir, write_file
from provisioning._registry import Role

MANIFEST = "manifest.json"
_MAX_FILE = 1 << 20  # nothing in a bundle is near 1 MiB; a bigger member is not ours
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class ManifestFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    mode: str = Field(pattern=r"^0[0-7]{3}$")
    secret: bool


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["canopy-bundle"] = "canopy-bundle"
    version: Literal[1] = 1
    role: Role
    facility: str = Field(pattern=NAME_PATTERN)
    name: str = Field(pattern=NAME_PATTERN)
    room: str | None = None
    broker_host: str
    broker_port: int = Field(ge=1, le=65535)
    created: dt.datetime
    files: tuple[ManifestFile, ...]


@dataclass(frozen=True)
class BundleFile:
    name: str
    data: bytes
    secret: bool = False

    @property
    def mode(self) -> int:
        return SECRET_MODE if self.secret else 0o644

    def entry(self) -> ManifestFile:
        return ManifestFile(
            name=self.name,
            sha256=hashlib.sha256(self.data).hexdigest(),
            mode=f"0{self.mode:o}",
            secret=self.secret,
        )


@dataclass(frozen=True)
class Bundle:
    manifest: Manifest
    files: dict[str, BundleFile]

    def __getitem__(self, name: str) -> bytes:
        return self.files[name].data


def make_bundle(
    *,
    role: Role,
    facility: str,
    name: str,
    room: str | None,
    broker_host: str,
    broker_port: int,
    files: list[BundleFile],
) -> Bundle:
    manifest = Manifest(
        role=role,
        facility=facility,
        name=name,
        room=room,
        broker_host=broker_host,
        broker_port=broker_port,
        created=dt.datetime.now(dt.UTC).replace(microsecond=0),
        files=tuple(f.entry() for f in sorted(files, key=lambda f: f.name)),
    )
    return Bundle(manifest, {f.name: f for f in files})


def _manifest_bytes(manifest: Manifest) -> bytes:
    return (json.dumps(manifest.model_dump(mode="json"), indent=2, sort_keys=True) + "\n").encode()


def is_tarball(path: Path) -> bool:
    return path.name.endswith((".tar", ".tar.gz", ".tgz"))


def write_bundle(bundle: Bundle, out: Path) -> Path:
    """Write ``bundle`` to directory ``out``, or to a tarball if ``out`` ends in .tar[.gz]/.tgz."""
    if is_tarball(out):
        _write_tar(bundle, out)
        return out
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out} is not empty; bundles go into a new directory")
    ensure_dir(out, 0o700)
    for f in bundle.files.values():
        write_file(out / f.name, f.data, f.mode)
    write_file(out / MANIFEST, _manifest_bytes(bundle.manifest), 0o644)
    return out


def _write_tar(bundle: Bundle, out: Path) -> None:
    if out.exists():
        raise UserError(f"{out} exists; refusing to overwrite a bundle")
    stamp = int(bundle.manifest.created.timestamp())
    members = [(MANIFEST, _manifest_bytes(bundle.manifest), 0o644)]
    members += [(f.name, f.data, f.mode) for f in sorted(bundle.files.values(), key=lambda f: f.name)]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, stamp
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    payload = raw.getvalue()
    if out.name.endswith((".gz", ".tgz")):
        packed = io.BytesIO()
        with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as gz:
            gz.write(payload)
        payload = packed.getvalue()
    # The tarball holds the private key and password: 0600 like any secret.
    write_file(out, payload, SECRET_MODE)


def read_bundle(path: Path) -> Bundle:
    """Load and verify a bundle directory or tarball."""
    if not path.exists():
        raise UserError(f"bundle {path} not found")
    raw = _read_tar(path) if path.is_file() else _read_dir(path)
    if MANIFEST not in raw:
        raise UserError(f"{path} is not a Canopy bundle (no {MANIFEST})")
    try:
        manifest = Manifest.model_validate_json(raw.pop(MANIFEST))
    except ValidationError as exc:
        raise UserError(f"{path}: bad {MANIFEST}: {exc.errors()[0]['msg']}") from None
    listed = {f.name: f for f in manifest.files}
    if set(raw) != set(listed):
        extra, missing = sorted(set(raw) - set(listed)), sorted(set(listed) - set(raw))
        raise UserError(f"{path}: files do not match the manifest (missing {missing}, unexpected {extra})")
    files: dict[str, BundleFile] = {}
    for name, data in raw.items():
        entry = listed[name]
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise UserError(f"{path}: {name} was changed after the bundle was made (checksum differs)")
        files[name] = BundleFile(name, data, entry.secret)
    return Bundle(manifest, files)


def _read_dir(path: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for item in path.iterdir():
        if not item.is_file() or item.is_symlink():
            raise UserError(f"{path}: {item.name} is not a plain file")
        if item.stat().st_size > _MAX_FILE:
            raise UserError(f"{path}: {item.name} is too big for a bundle file")
        out[item.name] = item.read_bytes()
    return out


def _read_tar(path: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar:
                if not member.isfile() or "/" in member.name or member.size > _MAX_FILE:
                    raise UserError(f"{path}: unexpected member {member.name!r} in a bundle")
                handle = tar.extractfile(member)
                assert handle is not None
                out[member.name] = handle.read()
    except tarfile.TarError as exc:
        raise UserError(f"{path}: not a readable bundle tarball: {exc}") from None
    return out

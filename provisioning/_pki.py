"""The facility's certificate authority: broker, kiosk and bridge certificates, and the CRL.

One CA per facility, used for nothing else: Mosquitto accepts every client
certificate any CA in its ``cafile`` signed (reference/edge-anchors.md §4.3),
so a shared or public CA would let strangers in. Keys are ECDSA P-256: small,
fast on a Raspberry Pi, and supported by every OpenSSL Mosquitto links.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 20 * 365
LEAF_DAYS = 5 * 365
# The broker rejects every client once the CRL's nextUpdate has passed, so the
# CRL is valid as long as the CA and is re-signed whenever a device is revoked.
CRL_DAYS = CA_DAYS


@dataclass(frozen=True)
class CertKey:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_cert_key(cert_data: bytes, key_data: bytes) -> CertKey:
    cert = x509.load_pem_x509_certificate(cert_data)
    key = serialization.load_pem_private_key(key_data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("expected an EC private key")
    return CertKey(cert, key)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _name(common_name: str, facility: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Canopy"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, facility),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def new_ca(facility: str) -> CertKey:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"Canopy facility CA {facility}", facility)
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertKey(cert, key)


def _leaf(
    ca: CertKey,
    common_name: str,
    facility: str,
    usage: x509.ObjectIdentifier,
    alt_names: Sequence[x509.GeneralName] = (),
    days: int = LEAF_DAYS,
) -> CertKey:
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, facility))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # a kiosk clock a little behind
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(alt_names)), critical=False)
    return CertKey(builder.sign(ca.key, hashes.SHA256()), key)


def issue_client(ca: CertKey, name: str, facility: str) -> CertKey:
    """A client certificate whose CN is the device (or bridge) id."""
    return _leaf(ca, name, facility, ExtendedKeyUsageOID.CLIENT_AUTH)


def issue_server(ca: CertKey, hosts: Sequence[str], facility: str) -> CertKey:
    """The broker's certificate, valid for every name and address kiosks use to reach it."""
    if not hosts:
        raise ValueError("the broker certificate needs at least one host name or address")
    return _leaf(ca, hosts[0], facility, ExtendedKeyUsageOID.SERVER_AUTH, [_alt_name(h) for h in hosts])


def _alt_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def server_hosts(cert: x509.Certificate) -> list[str]:
    """The names and addresses a server certificate is valid for, as given to ``issue_server``."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n.value) for n in san]


def issued_by(cert: x509.Certificate, ca: CertKey) -> bool:
    try:
        cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def build_crl(ca: CertKey, revoked: Iterable[tuple[int, dt.datetime]]) -> bytes:
    """A CRL listing ``(serial, when)``; Mosquitto reloads it on SIGHUP (``crlfile``)."""
    now = _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + dt.timedelta(days=CRL_DAYS))
    )
    for serial, when in sorted(revoked):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    crl = builder.sign(ca.key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM)

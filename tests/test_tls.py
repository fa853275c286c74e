"""Crawls verify TLS certificates; a missing CA/intermediate is supplied with
`[crawl] ca_bundle`, never by turning verification off. Real HTTPS on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import run_cli

PAGE = (b"<html><head><title>Sheriff policies</title></head><body><main><h1>Policies</h1>"
        b"<p>Detainer policy: we do not honor an immigration detainer without a federal "
        b"criminal warrant.</p></main></body></html>")


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca_and_leaf(tmp: Path) -> tuple[Path, Path, Path]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("trustwatch test CA"))
          .issuer_name(_name("trustwatch test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                       crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False,
                                       decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_pem, cert_pem, key_pem = tmp / "ca.pem", tmp / "leaf.pem", tmp / "leaf.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return ca_pem, cert_pem, key_pem


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGE if self.path != "/robots.txt" else b"User-agent: *\nAllow: /\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if body is PAGE else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca, cert, key = make_ca_and_leaf(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://localhost:{server.server_address[1]}/policies", ca
    finally:
        server.shutdown()


def watchlist(tmp_path: Path, url: str, ca: Path | None) -> Path:
    extra = f'ca_bundle = "{ca}"\n' if ca else ""
    p = tmp_path / "watchlist.toml"
    p.write_text(f'[trustwatch]\ndatabase = "sqlite:///{tmp_path}/t.db"\n'
                 f'[crawl]\ndelay = 0\ntimeout = 10\n{extra}'
                 f'[sources.sheriff]\nkind = "generic"\nstart_urls = ["{url}"]\n')
    return p


def test_unknown_certificate_authority_is_a_failed_fetch(https_site: tuple[str, Path],
                                                         tmp_path: Path) -> None:
    url, _ca = https_site
    result = run_cli("--config", str(watchlist(tmp_path, url, None)), "crawl", "--no-alerts",
                     cwd=tmp_path)
    assert result.returncode == 1
    assert "sheriff: fetched 0" in result.stdout and "failed 1" in result.stdout


def test_ca_bundle_lets_verification_succeed(https_site: tuple[str, Path],
                                             tmp_path: Path) -> None:
    url, ca = https_site
    result = run_cli("--config", str(watchlist(tmp_path, url, ca)), "crawl", "--no-alerts",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sheriff: fetched 1" in result.stdout and "new 1" in result.stdout


def test_ca_bundle_must_be_a_pem_file(tmp_path: Path) -> None:
    bogus = tmp_path / "not.pem"
    bogus.write_text("hello")
    result = run_cli("--config", str(watchlist(tmp_path, "https://localhost/", bogus)),
                     "status", cwd=tmp_path)
    assert result.returncode == 2 and "crawl.ca_bundle: not a PEM certificate file" in (
        result.stderr)

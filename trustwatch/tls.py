"""Certificate verification for crawls: always on, against certifi's roots plus an optional
extra PEM bundle (ftp.ilga.gov omits an intermediate certificate from its chain: give the
intermediate in `[crawl] ca_bundle` rather than ever turning verification off)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import certifi


def combined_bundle(extra: str = "") -> str:
    """Path of a PEM file holding certifi's roots plus ``extra``'s certificates."""
    pem = Path(certifi.where()).read_bytes()
    if extra:
        pem += b"\n" + Path(extra).expanduser().read_bytes()
    digest = hashlib.sha256(pem).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"trustwatch-ca-{digest}.pem"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pem)
        tmp.replace(path)  # atomic: concurrent crawls never read half a file
    return str(path)


def use_bundle(extra: str = "") -> str:
    """Point OpenSSL's default verify paths (used by Scrapy/Twisted when
    DOWNLOAD_VERIFY_CERTIFICATES is on) at the combined bundle."""
    path = combined_bundle(extra)
    os.environ["SSL_CERT_FILE"] = path
    return path

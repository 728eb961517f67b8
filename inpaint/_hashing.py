"""File digests for provenance and cache keys (no torch): checkpoint sha256 in exports, ONNX sha256 in engines."""

from __future__ import annotations

import hashlib
from pathlib import Path

#: bytes read per step, so that a multi-GB checkpoint is hashed in bounded memory
CHUNK_BYTES = 1 << 20


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()

"""Where the test vectors are: ``tests/fixtures`` in this repository (copied from the shared vectors with
their licence), or wherever ``NETWORKCORE_VECTORS`` points. Missing vectors are an error, never a skip."""

from __future__ import annotations

import os
from pathlib import Path

VECTORS = Path(os.environ.get("NETWORKCORE_VECTORS", Path(__file__).resolve().parent / "fixtures"))
OCPI_TARIFFS = VECTORS / "ocpi-tariffs"

if not (OCPI_TARIFFS / "README.md").is_file():
    raise RuntimeError(f"test vectors not found at {OCPI_TARIFFS}: NETWORKCORE_VECTORS points to the wrong folder")

"""Where the shared test vectors are: ``shared/vectors`` beside the repository (as in CI), or wherever
``NETWORKCORE_VECTORS`` points. Missing vectors are an error, never a silent skip."""

from __future__ import annotations

import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
VECTORS = Path(os.environ.get("NETWORKCORE_VECTORS", REPOSITORY.parent / "shared" / "vectors"))
OCPI_TARIFFS = VECTORS / "ocpi-tariffs"

if not (OCPI_TARIFFS / "README.md").is_file():
    raise RuntimeError(
        f"test vectors not found at {OCPI_TARIFFS}: check out shared/ beside the repository or set NETWORKCORE_VECTORS"
    )

"""The e-invoice outbox (``NETWORKCORE_EINVOICE_OUTBOX``): a folder per recipient, one file per document,
each written whole or not at all (a temporary file in the same folder, synced, then renamed over the name),
so whoever picks files up (a Peppol access point, a mail gateway) never reads half of one. Writing the same
document again replaces its file with the same bytes."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

# Party ids and invoice numbers are letters, digits and dashes; anything else would not be a safe file name.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def write_file(outbox: Path, folders: tuple[str, ...], name: str, content: bytes) -> Path:
    """Write ``content`` as ``<outbox>/<folders...>/<name>`` atomically; its path."""
    for part in (*folders, name):
        if not SAFE_NAME.fullmatch(part):
            raise ValueError(f"{part!r} is not a safe file name")
    folder = outbox.joinpath(*folders)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target

"""Cursors of the lists paged by row key (``?cursor=``): opaque to clients, checked when they come back."""

from __future__ import annotations

import base64
import binascii

from fastapi import HTTPException

from api.schemas import MAX_KEY


def key_cursor(key: int) -> str:
    return base64.urlsafe_b64encode(str(key).encode()).decode()


def parse_key_cursor(cursor: str) -> int:
    """The key a cursor of ours carries; 400 for anything else."""
    try:
        key = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, binascii.Error) as error:
        raise HTTPException(400, "cursor is not one we issued") from error
    if not 1 <= key <= MAX_KEY:
        raise HTTPException(400, "cursor is not one we issued")
    return key

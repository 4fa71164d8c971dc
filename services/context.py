"""What a use case that writes and then tells a workflow needs from the door that calls it. The API's
``ApiContext`` is one; tests may pass any object with these attributes."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client


class WriteAndStart(Protocol):
    @property
    def writes(self) -> sessionmaker[Session]: ...

    @property
    def temporal(self) -> Client: ...

    @property
    def task_queue(self) -> str: ...

"""OCPI 2.2.1 configuration objects: Credentials (what two platforms exchange to register) and the Versions
module's lists, as the peer sends them. Unknown fields are kept, never refused."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from messages.ocpi import OcpiModel

# A credentials token: printable ASCII without spaces (2.2.1 bugfix release), at most 64 characters.
CredentialsToken = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,64}$")]


class BusinessDetails(OcpiModel):
    name: str = Field(min_length=1, max_length=100)
    website: str | None = None


class CredentialsRole(OcpiModel):
    role: str  # CPO | EMSP | HUB | NAP | NSP | OTHER | SCSP
    business_details: BusinessDetails
    party_id: str = Field(min_length=3, max_length=3)
    country_code: str = Field(min_length=2, max_length=2)

    def is_party(self, role: str, country_code: str, party_id: str) -> bool:
        """OCPI ids ignore case; roles are enum values."""
        return (self.role, self.country_code.upper(), self.party_id.upper()) == (
            role,
            country_code.upper(),
            party_id.upper(),
        )


class Credentials(OcpiModel):
    token: CredentialsToken  # what the other side calls its sender with
    url: str = Field(pattern=r"^https?://", max_length=255)  # the sender's versions list
    roles: list[CredentialsRole] = Field(min_length=1)


class Version(OcpiModel):
    version: str
    url: str


class Endpoint(OcpiModel):
    identifier: str = Field(max_length=32)
    role: str  # SENDER | RECEIVER
    url: str = Field(max_length=255)


class VersionDetails(OcpiModel):
    version: str
    endpoints: list[Endpoint]

"""Serialisable payloads: OCPI 2.2.1 objects on the wire and the session workflow's inputs and results."""

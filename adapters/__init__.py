"""Outbound systems: CPOs over OCPI 2.2.1."""

"""The HTTP front: the demand partners' API and the OCPI 2.2.1 receiver for CPOs."""

"""The built-in CPO simulator: a CPO back end speaking OCPI 2.2.1 to our eMSP side (demo and tests)."""

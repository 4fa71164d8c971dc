"""Pure domain: rules and decisions with no I/O, no clock, no framework (safe in the workflow sandbox)."""

"""What we make of each OCPI message a CPO sends, one module per OCPI module (sessions, cdrs, commands,
tariffs): stored verbatim first (``inbox``), then applied, then, when a workflow must know, forwarded
(``forwarding``)."""

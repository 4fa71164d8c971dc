"""``networkcore``: the operators' command line (dev stack, API, worker, migrations, demo, bench)."""

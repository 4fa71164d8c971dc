"""Worker processes: the composition root that wires activities to their dependencies."""

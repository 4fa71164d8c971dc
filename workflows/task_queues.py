"""Task queue names live in Settings (``task_queue``); this is the default shared by tests and tools."""

CHARGING_SESSIONS = "charging-sessions"

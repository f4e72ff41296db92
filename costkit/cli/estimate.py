"""`costkit estimate` (filled by its issue)."""

"""`costkit report` (filled by its issue)."""

"""`costkit audit` (filled by its issue)."""

"""`costkit count` (filled by its issue)."""

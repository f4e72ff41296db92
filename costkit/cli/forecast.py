"""`costkit forecast` (filled by its issue)."""

"""`costkit ingest` (filled by its issue)."""

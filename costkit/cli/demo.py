"""`costkit demo` (filled by its issue)."""

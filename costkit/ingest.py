"""Drives readers into the store: batching, dedupe, quarantine, progress (issue 5)."""

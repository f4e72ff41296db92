"""The ingest run: readers into the store, dedupe, conflicts, rejects, the summary."""

"""Spend queries over the store: costed usage, breakdowns, and how far the data reaches."""

"""Budgets: each costkit.toml budget against its spend, to date and projected (`check`)."""

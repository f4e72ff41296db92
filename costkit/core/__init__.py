"""Shared vocabulary every layer may use: the cost components and the canonical usage counts,
errors, money and time formatting, time zones, the clock."""

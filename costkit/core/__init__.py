"""Shared vocabulary every layer may use: errors, money and time formatting, time zones,
the clock."""

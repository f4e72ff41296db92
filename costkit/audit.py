"""Reconciliation of invoices and provider ledgers against costed usage (issue 9)."""

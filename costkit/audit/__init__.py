"""Audits: invoices, FOCUS exports and gateway ledgers reconciled against costed usage."""

"""Helpers shared by scanwire's test modules (import as `helpers.<module>`)."""

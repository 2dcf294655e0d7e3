"""Drift watch: compare what a real server sends with the spec, record it, and propose overlays."""

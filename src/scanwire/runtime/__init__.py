"""Import path kept for the toolchain's older imports: `scanwire.runtime.<module>` is the shared
`scanwire_runtime.<module>` (the same module objects, not a copy; see runtime/pyproject.toml)."""

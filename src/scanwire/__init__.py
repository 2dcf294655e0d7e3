"""scanwire: specs, generated clients, emulators and conformance suites for scanner APIs."""

__version__ = "0.1.0"

VENDORS: tuple[str, ...] = ("advalidation", "invicti", "appspider", "threadfix", "soda")

__all__ = ["VENDORS", "__version__"]

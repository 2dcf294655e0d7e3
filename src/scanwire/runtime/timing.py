"""`scanwire_runtime.timing` under its older import path (re-exported, not copied)."""

from scanwire_runtime.timing import *  # noqa: F403 - the module's __all__ is its public API
from scanwire_runtime.timing import __all__ as __all__

"""`scanwire_runtime.errors` under its older import path (re-exported, not copied)."""

from scanwire_runtime.errors import *  # noqa: F403 - the module's __all__ is its public API
from scanwire_runtime.errors import __all__ as __all__

"""`scanwire_runtime.auth` under its older import path (re-exported, not copied)."""

from scanwire_runtime.auth import *  # noqa: F403 - the module's __all__ is its public API
from scanwire_runtime.auth import __all__ as __all__

"""`scanwire_runtime.client` under its older import path (re-exported, not copied)."""

from scanwire_runtime.client import *  # noqa: F403 - the module's __all__ is its public API
from scanwire_runtime.client import __all__ as __all__

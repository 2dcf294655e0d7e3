"""`scanwire_runtime.parsing` under its older import path (re-exported, not copied)."""

from scanwire_runtime.parsing import *  # noqa: F403 - the module's __all__ is its public API
from scanwire_runtime.parsing import __all__ as __all__

"""What every vendor emulator shares: app, control API, store, lifecycle engine, faults, and the one
authenticator, pager and error renderer configured from the spec's `x-scanwire-*` extensions."""

from conformance.emulators.core.app import Emulator, build_emulator
from conformance.emulators.core.clock import ManualClock, SystemClock
from conformance.emulators.core.engine import Progression, Scan, ScanEngine
from conformance.emulators.core.errors import (
    AuthError,
    BadRequestError,
    EmulatorError,
    ForbiddenError,
    HttpError,
    IllegalTransitionError,
    NotFoundError,
    Problem,
    ScanNotFoundError,
)
from conformance.emulators.core.http import Call, json_response
from conformance.emulators.core.plugin import Backend, VendorPlugin, plugin_for
from conformance.emulators.core.settings import EmulatorSettings
from conformance.emulators.core.store import Record, Store

__all__ = [
    "AuthError",
    "Backend",
    "BadRequestError",
    "Call",
    "Emulator",
    "EmulatorError",
    "EmulatorSettings",
    "ForbiddenError",
    "HttpError",
    "IllegalTransitionError",
    "ManualClock",
    "NotFoundError",
    "Problem",
    "Progression",
    "Record",
    "Scan",
    "ScanEngine",
    "ScanNotFoundError",
    "Store",
    "SystemClock",
    "VendorPlugin",
    "build_emulator",
    "json_response",
    "plugin_for",
]

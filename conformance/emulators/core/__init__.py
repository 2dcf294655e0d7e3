"""What every vendor emulator shares: app factory, control API, store, lifecycle engine, faults, auth."""

from conformance.emulators.core.app import Emulator, EmulatorSettings, VendorPlugin, build_emulator
from conformance.emulators.core.clock import ManualClock, SystemClock
from conformance.emulators.core.engine import Progression, Scan, ScanEngine
from conformance.emulators.core.errors import (
    AuthError,
    BadRequestError,
    EmulatorError,
    ForbiddenError,
    IllegalTransitionError,
    NotFoundError,
    ScanNotFoundError,
)
from conformance.emulators.core.http import Call, json_response
from conformance.emulators.core.store import Record, Store

__all__ = [
    "AuthError",
    "BadRequestError",
    "Call",
    "Emulator",
    "EmulatorError",
    "EmulatorSettings",
    "ForbiddenError",
    "IllegalTransitionError",
    "ManualClock",
    "NotFoundError",
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
]

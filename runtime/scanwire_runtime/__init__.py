"""scanwire-runtime: the one runtime under every scanwire-generated client (auth, retries, paging,
waiting, errors). Every `<vendor>_client` package imports it, so `except scanwire_runtime.NotFoundError`
catches a not-found from any vendor."""

from importlib import metadata as _metadata

from .auth import BasicAuth, HeaderAuth, LoginTokenAuth, credentials_for, make_auth
from .client import (
    Answer,
    AsyncScanClient,
    RawResponse,
    RequestOptions,
    Scan,
    ScanClient,
    ScanLike,
    ScanRef,
    Status,
    Vendor,
)
from .errors import (
    APIConnectionError,
    ApiError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ScanTimeoutError,
    ScanwireError,
    ServerError,
    UnsupportedOperationError,
)
from .lifecycle import NormalizedStatus
from .retry import RetryPolicy
from .timing import ManualTimer, SystemTimer, Timer

# One source for the version: runtime/pyproject.toml, read from the installed distribution's metadata.
try:
    __version__ = _metadata.version("scanwire-runtime")
except _metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "Answer",
    "ApiError",
    "AsyncScanClient",
    "AuthenticationError",
    "BadRequestError",
    "BasicAuth",
    "ConflictError",
    "HeaderAuth",
    "LoginTokenAuth",
    "MalformedResponseError",
    "ManualTimer",
    "NormalizedStatus",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RawResponse",
    "RequestOptions",
    "RetryPolicy",
    "Scan",
    "ScanClient",
    "ScanLike",
    "ScanRef",
    "ScanTimeoutError",
    "ScanwireError",
    "ServerError",
    "Status",
    "SystemTimer",
    "Timer",
    "UnsupportedOperationError",
    "Vendor",
    "__version__",
    "credentials_for",
    "make_auth",
]

"""One exception class per gRPC status code, all under `SwitchyardError`.

Every failed call raises the class of its status code, carrying the code and
the server's message unchanged (INVALID_ARGUMENT names the field, its value
and the allowed range), so callers catch what they can handle
(`UnavailableError`: retry elsewhere or later) and let the rest propagate.
The original `grpc.RpcError` is kept as `__cause__`.
"""

from __future__ import annotations

import grpc


class SwitchyardError(Exception):
    """A call failed with a gRPC status; `code` and `message` say how."""

    # The status code a subclass stands for; the base class stands for any.
    status_code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        self.code: grpc.StatusCode = code if code is not None else self.status_code
        self.message = message  # the server's message, as it sent it
        super().__init__(f"{self.code.name}: {message}")


class CancelledError(SwitchyardError):
    """The call was cancelled (by this client, or the server shut down).

    Not `asyncio.CancelledError`: an asyncio task that is cancelled raises
    that one, unwrapped, as asyncio expects."""

    status_code = grpc.StatusCode.CANCELLED


class UnknownError(SwitchyardError):
    status_code = grpc.StatusCode.UNKNOWN


class InvalidArgumentError(SwitchyardError, ValueError):
    """The request is wrong (never retried): the message names the field."""

    status_code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceededError(SwitchyardError, TimeoutError):
    """The call's deadline (`timeout`) passed; the server stopped the request."""

    status_code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFoundError(SwitchyardError):
    """The `model` is not the one the server serves."""

    status_code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(SwitchyardError):
    status_code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDeniedError(SwitchyardError):
    status_code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhaustedError(SwitchyardError):
    """A request (or its metadata) larger than the server accepts."""

    status_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPreconditionError(SwitchyardError):
    status_code = grpc.StatusCode.FAILED_PRECONDITION


class AbortedError(SwitchyardError):
    status_code = grpc.StatusCode.ABORTED


class OutOfRangeError(SwitchyardError):
    status_code = grpc.StatusCode.OUT_OF_RANGE


class UnimplementedError(SwitchyardError):
    """The server does not have this method (an older server)."""

    status_code = grpc.StatusCode.UNIMPLEMENTED


class InternalError(SwitchyardError):
    """The engine step computing this request failed; the message says why."""

    status_code = grpc.StatusCode.INTERNAL


class UnavailableError(SwitchyardError):
    """Not reachable, still loading, overloaded or draining: retry elsewhere
    or later. Raised only once the client's retries are spent."""

    status_code = grpc.StatusCode.UNAVAILABLE


class DataLossError(SwitchyardError):
    status_code = grpc.StatusCode.DATA_LOSS


class UnauthenticatedError(SwitchyardError):
    """No API key, a wrong one, or one the server does not know."""

    status_code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: dict[grpc.StatusCode, type[SwitchyardError]] = {
    cls.status_code: cls
    for cls in (
        CancelledError, UnknownError, InvalidArgumentError, DeadlineExceededError, NotFoundError,
        AlreadyExistsError, PermissionDeniedError, ResourceExhaustedError, FailedPreconditionError,
        AbortedError, OutOfRangeError, UnimplementedError, InternalError, UnavailableError,
        DataLossError, UnauthenticatedError,
    )
}


def error_class(code: grpc.StatusCode) -> type[SwitchyardError]:
    """The class raised for `code` (`SwitchyardError` itself for OK, which
    no failed call has)."""
    return _BY_CODE.get(code, SwitchyardError)


def from_rpc_error(error: grpc.RpcError) -> SwitchyardError:
    """The exception for a failed call (sync or asyncio)."""
    code = error.code()
    details = error.details()
    return error_class(code)(details or "", code)

"""Server streams as iterators that own their call.

Closing the stream cancels the call, and the server frees the request's KV
blocks within one engine step; so does leaving a `with` block, breaking out
of a `for` loop over a stream that is then dropped, or (asyncio) cancelling
the task that reads it. After `close()` iteration just ends. Errors arrive
as the `switchyard_client.errors` classes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import grpc
import grpc.aio

from switchyard_client.errors import from_rpc_error
from switchyard_client.results import GenerationEnd, StreamChunk

if TYPE_CHECKING:
    from typing_extensions import Self

M = TypeVar("M")  # the response message
M_co = TypeVar("M_co", covariant=True)
T = TypeVar("T")  # what the stream yields


class _SyncCall(Protocol[M_co]):
    def __next__(self) -> M_co: ...
    def cancel(self) -> bool: ...


class Stream(Generic[T]):
    """A synchronous server stream (from `Client`)."""

    def __init__(self, call: _SyncCall[M], convert: Callable[[M], T]) -> None:
        self._read: Callable[[], T] = lambda: convert(next(call))
        self._cancel: Callable[[], bool] = call.cancel
        self._closed = False

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> T:
        if self._closed:
            raise StopIteration
        try:
            return self._seen(self._read())
        except StopIteration:
            self._closed = True
            raise
        except grpc.RpcError as e:
            if self._closed:  # close() from another thread while this one waited
                raise StopIteration from None
            self._closed = True
            raise from_rpc_error(e) from e

    def _seen(self, item: T) -> T:
        """Each item on its way out; subclasses keep what they need of it."""
        return item

    def close(self) -> None:
        """Cancels the call if it is still going; iteration then ends."""
        if not self._closed:
            self._closed = True
            self._cancel()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        # A stream dropped half read must not keep generating on the server.
        # (At interpreter exit gRPC may be gone already: nothing to cancel.)
        if not getattr(self, "_closed", True):
            with contextlib.suppress(Exception):
                self.close()


class _AsyncCall(Protocol):
    async def read(self) -> Any: ...  # grpc.aio.EOF or a message
    def cancel(self) -> bool: ...


class AsyncStream(Generic[T]):
    """An asyncio server stream (from `AsyncClient`)."""

    def __init__(self, call: _AsyncCall, convert: Callable[[Any], T]) -> None:
        self._call = call
        self._convert = convert
        self._closed = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        try:
            message = await self._call.read()
        except grpc.RpcError as e:
            if self._closed:
                raise StopAsyncIteration from None
            self._closed = True
            raise from_rpc_error(e) from e
        except asyncio.CancelledError:
            # grpc.aio raises this from read() once the call is cancelled;
            # after our own close() that is the end of the stream, but a
            # cancelled task must see its cancellation.
            if self._closed:
                raise StopAsyncIteration from None
            self.close()
            raise
        if message is grpc.aio.EOF:
            self._closed = True
            raise StopAsyncIteration
        return self._seen(self._convert(message))

    def _seen(self, item: T) -> T:
        """Each item on its way out; subclasses keep what they need of it."""
        return item

    def close(self) -> None:
        """Cancels the call if it is still going; iteration then ends."""
        if not self._closed:
            self._closed = True
            self._call.cancel()

    async def aclose(self) -> None:
        self.close()

    def __del__(self) -> None:
        # `async for` does not close what it iterates: a task cancelled while
        # iterating drops the stream, and the generation must stop then.
        if not getattr(self, "_closed", True):
            with contextlib.suppress(Exception):  # e.g. its event loop is closed
                self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.close()


class GenerationStream(Stream[StreamChunk]):
    """`Client.generate_stream()`: StreamChunks, the last one carrying `end`."""

    end: GenerationEnd | None = None  # finish reason, usage and timings, once they came

    def _seen(self, item: StreamChunk) -> StreamChunk:
        if item.end is not None:
            self.end = item.end
        return item


class AsyncGenerationStream(AsyncStream[StreamChunk]):
    """`AsyncClient.generate_stream()`: StreamChunks, the last one carrying `end`."""

    end: GenerationEnd | None = None  # finish reason, usage and timings, once they came

    def _seen(self, item: StreamChunk) -> StreamChunk:
        if item.end is not None:
            self.end = item.end
        return item

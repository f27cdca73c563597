"""The asyncio client: the synchronous one's methods as coroutines, over a
grpc.aio channel. Make it inside the event loop that uses it."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import grpc
import grpc.aio

from switchyard_client import _channel, _convert, _health
from switchyard_client._proto.switchyard.v1 import switchyard_pb2 as pb
from switchyard_client._proto.switchyard.v1.switchyard_pb2_grpc import SwitchyardStub
from switchyard_client.errors import from_rpc_error
from switchyard_client.options import GenerateOptions, Keepalive, RetryPolicy, StrPath, Tls
from switchyard_client.results import ExpertLoad, GenerateResult, HealthStatus, ModelInfo
from switchyard_client.streams import AsyncGenerationStream, AsyncStream

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class AsyncClient:
    """`Client` for asyncio: the same arguments (see `Client`), methods and
    errors; the unary methods are coroutines, the streams async iterators.
    Cancelling the task awaiting a call cancels the call on the server.

    Use one client for many calls, and close it (or use it in an `async
    with` block) when done.
    """

    def __init__(self, target: str = _channel.DEFAULT_TARGET, *, tls: Tls | bool = False, api_key: str | None = None,
                 api_key_file: StrPath | None = None, timeout: float | None = None,
                 retry: RetryPolicy | None = _channel.DEFAULT_RETRY,
                 load_balancing: _channel.LoadBalancing = "pick_first",
                 keepalive: Keepalive | None = None, metadata: Sequence[tuple[str, str]] = (),
                 channel_options: Sequence[_channel.ChannelOption] = (), model: str = "") -> None:
        self._settings = _channel.resolve(
            target, tls=tls, api_key=api_key, api_key_file=api_key_file, timeout=timeout, retry=retry,
            load_balancing=load_balancing, keepalive=keepalive, metadata=metadata,
            channel_options=channel_options, model=model)
        s = self._settings
        self._channel = (grpc.aio.insecure_channel(s.target, s.options) if s.credentials is None
                         else grpc.aio.secure_channel(s.target, s.credentials, s.options))
        self._stub = SwitchyardStub(self._channel)
        self._health: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = self._channel.unary_unary(_health.METHOD)

    async def generate(self, prompt: str | Sequence[int], *, timeout: float | None = None,
                       **options: Unpack[GenerateOptions]) -> GenerateResult:
        """The whole generation at once. `prompt` is text (encoded with the
        model's tokenizer, special tokens added) or token ids."""
        request = _convert.generate_request(self._settings.model, prompt, options)
        return _convert.generate_result(await self._unary(self._stub.Generate, request, timeout))

    def generate_stream(self, prompt: str | Sequence[int], *, timeout: float | None = None,
                        **options: Unpack[GenerateOptions]) -> AsyncGenerationStream:
        """The generation as it happens: StreamChunks of text and token ids
        (and logprobs, routing when asked), the last one carrying `end`
        (finish reason, usage, timings). Closing the stream cancels the
        generation; `timeout` covers the whole stream."""
        request = _convert.generate_request(self._settings.model, prompt, options)
        call = self._stub.GenerateStream(request, timeout=self._timeout(timeout), metadata=self._settings.metadata)
        return AsyncGenerationStream(call, _convert.stream_chunk)

    async def tokenize(self, text: str, *, add_special_tokens: bool | None = None,
                       timeout: float | None = None) -> list[int]:
        """Token ids of `text`; special tokens (e.g. BOS) added unless
        add_special_tokens=False."""
        request = pb.TokenizeRequest(model=self._settings.model, text=text)
        if add_special_tokens is not None:
            request.add_special_tokens = add_special_tokens
        return list((await self._unary(self._stub.Tokenize, request, timeout)).token_ids)

    async def detokenize(self, token_ids: Sequence[int], *, skip_special_tokens: bool | None = None,
                         timeout: float | None = None) -> str:
        """The text of `token_ids`; special tokens left out unless
        skip_special_tokens=False."""
        request = pb.DetokenizeRequest(model=self._settings.model, token_ids=token_ids)
        if skip_special_tokens is not None:
            request.skip_special_tokens = skip_special_tokens
        return (await self._unary(self._stub.Detokenize, request, timeout)).text

    async def model_info(self, *, timeout: float | None = None) -> ModelInfo:
        """The model (architecture, experts, context) and the server's state
        (KV blocks free, requests running and waiting)."""
        request = pb.GetModelInfoRequest(model=self._settings.model)
        return _convert.model_info(await self._unary(self._stub.GetModelInfo, request, timeout))

    async def expert_load(self, *, timeout: float | None = None) -> ExpertLoad:
        """Tokens routed to each expert of each layer."""
        request = pb.GetExpertLoadRequest(model=self._settings.model)
        return _convert.expert_load(await self._unary(self._stub.GetExpertLoad, request, timeout))

    def watch_expert_load(self, *, interval: float = 1.0, timeout: float | None = None) -> AsyncStream[ExpertLoad]:
        """The expert load every `interval` seconds ([0.1, 3600]) until the
        stream is closed (or `timeout` passes)."""
        request = pb.WatchExpertLoadRequest(model=self._settings.model, interval_ms=_convert.interval_ms(interval))
        call = self._stub.WatchExpertLoad(request, timeout=self._timeout(timeout), metadata=self._settings.metadata)
        return AsyncStream(call, _convert.expert_load)

    async def health(self, service: str = "", *, timeout: float | None = None) -> HealthStatus:
        """grpc.health.v1 Check: "" for the whole server (the engine works),
        "switchyard.v1.Switchyard" for the API (loaded and not draining).
        Not retried: it tells how this server is now."""
        response = await self._unary(self._health, _health.serialize_request(service), timeout)
        return _health.parse_response(response)

    async def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def _timeout(self, timeout: float | None) -> float | None:
        return self._settings.timeout if timeout is None else timeout

    async def _unary(self, method: grpc.aio.UnaryUnaryMultiCallable[Req, Resp], request: Req,
                     timeout: float | None) -> Resp:
        try:
            return await method(request, timeout=self._timeout(timeout), metadata=self._settings.metadata)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from e

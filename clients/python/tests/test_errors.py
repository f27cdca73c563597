"""The exception hierarchy: every status code has its class, and the ones
the server can be made to send arrive as that class with its message."""

from __future__ import annotations

import time

import grpc
import pytest
from server import Server, free_port

from switchyard_client import (
    CancelledError,
    Client,
    DeadlineExceededError,
    GenerateOptions,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    RetryPolicy,
    SwitchyardError,
    UnavailableError,
    errors,
)

LONG: GenerateOptions = {"max_tokens": 511, "ignore_eos": True, "temperature": 0.0}  # the whole context


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str | None) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str | None:
        return self._details


@pytest.mark.parametrize("code", [c for c in grpc.StatusCode if c is not grpc.StatusCode.OK], ids=lambda c: c.name)
def test_every_status_code_has_its_own_class(code: grpc.StatusCode) -> None:
    error = errors.from_rpc_error(FakeRpcError(code, "what the server said"))
    assert type(error) is errors.error_class(code)
    assert type(error) is not SwitchyardError
    assert type(error).status_code is code and error.code is code
    assert error.message == "what the server said"
    assert str(error) == f"{code.name}: what the server said"


def test_classes_double_as_the_builtin_they_mean() -> None:
    assert issubclass(InvalidArgumentError, ValueError)
    assert issubclass(DeadlineExceededError, TimeoutError)
    assert errors.from_rpc_error(FakeRpcError(grpc.StatusCode.INTERNAL, None)).message == ""


def test_invalid_argument_names_the_field_and_is_not_retried(client: Client, server: Server) -> None:
    before = server.calls("Generate", "INVALID_ARGUMENT")
    with pytest.raises(InvalidArgumentError) as caught:
        client.generate("The yard master", top_p=2)
    assert caught.value.message == "top_p must be in (0, 1], got 2"
    assert caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert isinstance(caught.value.__cause__, grpc.RpcError)
    # One call reached the server: retries are for UNAVAILABLE only.
    assert server.calls("Generate", "INVALID_ARGUMENT") == before + 1


def test_invalid_argument_in_a_stream(client: Client) -> None:
    with pytest.raises(InvalidArgumentError, match="logprobs"):
        list(client.generate_stream("x", logprobs=21))
    with pytest.raises(InvalidArgumentError, match="interval_ms"):
        next(client.watch_expert_load(interval=0.01))


def test_not_found_for_another_model_and_an_unknown_health_service(server: Server, client: Client) -> None:
    with Client(server.address, model="not-this-one") as other:
        with pytest.raises(NotFoundError, match='"not-this-one" is not served here'):
            other.model_info()
        with pytest.raises(NotFoundError):
            list(other.generate_stream("x"))
    with pytest.raises(NotFoundError):
        client.health("no.such.Service")


def test_deadline_exceeded_per_call_and_per_client(server: Server, client: Client) -> None:
    with pytest.raises(DeadlineExceededError):
        client.generate([1], timeout=0.005, **LONG)
    with pytest.raises(DeadlineExceededError):
        for _ in client.generate_stream([1], timeout=0.005, **LONG):
            pass
    with Client(server.address, timeout=0.005) as hurried:
        with pytest.raises(DeadlineExceededError):
            hurried.generate([1], **LONG)
        assert hurried.generate([1], max_tokens=1, timeout=30).usage.completion_tokens == 1  # per call wins


def test_resource_exhausted_over_the_servers_message_limit(client: Client) -> None:
    with pytest.raises(ResourceExhaustedError):
        client.generate("x" * (5 << 20))  # the server's --max-message-bytes is 4 MiB


def test_closing_the_client_cancels_its_calls(server: Server) -> None:
    client = Client(server.address)
    stream = client.generate_stream([1], max_tokens=511, ignore_eos=True, temperature=0, logprobs=20)
    client.close()
    with pytest.raises(CancelledError):
        list(stream)


def test_unavailable_when_nothing_listens() -> None:
    address = f"127.0.0.1:{free_port()}"
    with Client(address, retry=None, timeout=10) as c:
        with pytest.raises(UnavailableError):
            c.model_info()
    fast = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02)
    with Client(address, retry=fast, timeout=10) as c:
        start = time.monotonic()
        with pytest.raises(UnavailableError):
            c.tokenize("x")
        assert time.monotonic() - start < 5  # the retries gave up; the deadline did not end it

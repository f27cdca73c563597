"""Retries through gRPC's service config: a server draining after SIGTERM
answers UNAVAILABLE, and with round_robin the retry reaches the other one."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from server import Server

from switchyard_client import (
    Client,
    FinishReason,
    GenerationStream,
    HealthStatus,
    RetryPolicy,
    UnavailableError,
)

QUICK = RetryPolicy(initial_backoff=0.05, max_backoff=0.2)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the server")
        time.sleep(0.02)


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    a = Server(tmp_path / "a.log")
    b = Server(tmp_path / "b.log")
    yield a, b
    a.stop()
    b.stop()


def hold_a_call(server: Server) -> tuple[Client, GenerationStream]:
    """A stream the server cannot finish until it is read, so that the
    server, once told to stop, stays draining: ~100 KB of logprobs through
    a fixed 16 KiB receive window (as serve_command_test.cc does)."""
    client = Client(server.address, retry=None, channel_options=[
        ("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 16 << 10)])
    stream = client.generate_stream([1], max_tokens=400, ignore_eos=True, temperature=0, logprobs=20)
    next(stream)
    return client, stream


def start_draining(server: Server) -> None:
    server.sigterm()
    with Client(server.address, retry=None, timeout=10) as direct:
        wait_until(lambda: direct.health("switchyard.v1.Switchyard") is HealthStatus.NOT_SERVING)
        with pytest.raises(UnavailableError, match="shutting down"):
            direct.generate("The yard master", max_tokens=2)


def test_retries_on_a_draining_server_reach_the_other_server(two_servers: tuple[Server, Server]) -> None:
    a, b = two_servers
    holder, held = hold_a_call(a)
    try:
        target = f"ipv4:{a.address},{b.address}"
        with Client(target, load_balancing="round_robin", retry=QUICK, timeout=20) as client:
            # Until both connections are up and calls go to each.
            wait_until(lambda: bool(client.model_info()) and a.calls("GetModelInfo", "OK") > 0
                       and b.calls("GetModelInfo", "OK") > 0)
            start_draining(a)
            refused = a.calls("Generate", "UNAVAILABLE")
            for _ in range(6):
                assert client.generate("The yard master", max_tokens=2, temperature=0).usage.completion_tokens == 2
            # Some first attempts went to the draining server and were
            # refused; their retries, and every call, succeeded on the other.
            assert a.calls("Generate", "UNAVAILABLE") > refused
            assert b.calls("Generate", "OK") == 6
        with Client(target, load_balancing="round_robin", retry=None, timeout=20) as client:
            outcomes = set()
            for _ in range(20):  # the first calls may all go to the first connection up
                try:
                    client.generate("The yard master", max_tokens=2)
                    outcomes.add("ok")
                except UnavailableError as e:
                    assert e.message == "the server is shutting down"
                    outcomes.add("unavailable")
                if len(outcomes) == 2:
                    break
            assert outcomes == {"ok", "unavailable"}  # without retries, the draining server's refusals fail
        # The call in flight when the drain began finishes, then the server exits.
        chunks = list(held)
        assert chunks[-1].end is not None and chunks[-1].end.finish_reason is FinishReason.LENGTH
        assert sum(len(c.token_ids) for c in chunks) == 399  # the first chunk was read before
    finally:
        holder.close()
    assert a.process.wait(timeout=15) == 0


def test_a_call_still_in_flight_when_the_drain_times_out_ends_unavailable(tmp_path: Path) -> None:
    server = Server(tmp_path / "serve.log", "--drain-timeout=0.2s")
    try:
        holder, held = hold_a_call(server)
        server.sigterm()
        time.sleep(0.5)  # past the drain timeout, without reading
        with pytest.raises(UnavailableError):  # the server's shutdown: "Cancelling all calls"
            list(held)
        holder.close()
        assert server.process.wait(timeout=15) == 0
    finally:
        server.stop()

"""Closing a stream cancels the call, and the server frees the request's KV
blocks at once (not when the generation would have ended)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from server import Server

from switchyard_client import Client, GenerateOptions

# The whole 512-token context: ~35 ms of decoding on the demo model, which a
# cancelled request must not finish.
LONG: GenerateOptions = {"max_tokens": 511, "ignore_eos": True, "temperature": 0.0}


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: Callable[[], object] = str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for the server {what()}")
        time.sleep(0.01)


def idle(client: Client) -> bool:
    info = client.model_info()
    return info.num_running == 0 and info.num_waiting == 0 and info.kv_blocks_free == info.kv_blocks_total


class Baseline:
    """The server's counters just before a stream started."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.ended = server.calls_by_code("GenerateStream")
        self.generated = server.metric("switchyard_generated_tokens_total")

    def ended_since(self, code: str) -> float:
        return self.server.calls("GenerateStream", code) - self.ended.get(code, 0.0)

    def all_ended_since(self) -> float:
        return sum(self.server.calls_by_code("GenerateStream").values()) - sum(self.ended.values())

    def generated_since(self) -> float:
        return self.server.metric("switchyard_generated_tokens_total") - self.generated


def cancelled_mid_generation(client: Client, server: Server, run: Callable[[], None]) -> Baseline:
    """Calls `run` (which starts a long stream and cancels it somehow) until
    the request reached the engine and the cancellation reached the server
    before the generation ended; checks that the server then freed every KV
    block, and returns its counters from before that try.

    The demo model decodes the whole context in ~35 ms, so a test process
    descheduled at the wrong moment can lose that race; a cancellation that
    never works loses every try."""
    for _ in range(5):
        wait_until(lambda: idle(client))
        baseline = Baseline(server)
        run()
        wait_until(lambda: idle(client), timeout=2)
        if 0 < baseline.generated_since() < LONG["max_tokens"]:
            # The call's status is counted when gRPC is done with it, a
            # moment after the engine let the request go.
            wait_until(lambda b=baseline: b.all_ended_since() == 1, timeout=2,  # type: ignore[misc]
                       what=lambda: server.calls_by_code("GenerateStream"))
            return baseline
    pytest.fail("every generation ran to its end: the cancellation did not stop it")


def test_closing_a_stream_cancels_it_and_frees_its_kv_blocks(client: Client, server: Server) -> None:
    seen = []

    def run() -> None:
        stream = client.generate_stream([1], **LONG)
        next(stream)
        # The server publishes its state after each engine step, a moment
        # after that step's tokens went out: look until it shows the request.
        for _ in range(20):
            seen.append(client.model_info())
            if seen[-1].num_running == 1:
                break
        stream.close()
        assert list(stream) == []  # a closed stream just ends

    baseline = cancelled_mid_generation(client, server, run)
    # It held KV blocks while it ran, all were free after, and the server
    # ended the call CANCELLED.
    assert seen[-1].num_running == 1 and seen[-1].kv_blocks_free < seen[-1].kv_blocks_total
    assert baseline.ended_since("CANCELLED") == 1


def test_leaving_the_with_block_cancels(client: Client, server: Server) -> None:
    def run() -> None:
        with client.generate_stream([1], **LONG) as stream:
            next(stream)

    assert cancelled_mid_generation(client, server, run).ended_since("CANCELLED") == 1


def test_a_dropped_stream_cancels(client: Client, server: Server) -> None:
    def run() -> None:
        stream = client.generate_stream([1], **LONG)
        next(stream)
        # Returning drops the last reference: CPython finalizes the stream
        # here, no garbage collection needed.

    assert cancelled_mid_generation(client, server, run).ended_since("CANCELLED") == 1


def test_a_deadline_frees_the_blocks_too(client: Client, server: Server) -> None:
    def run() -> None:
        with pytest.raises(TimeoutError):
            list(client.generate_stream([1], timeout=0.01, **LONG))

    baseline = cancelled_mid_generation(client, server, run)
    # DEADLINE_EXCEEDED, also when the client's RST_STREAM for the deadline
    # arrives before the server's own timer fires (the server counts a
    # cancellation that close to the deadline as the deadline's).
    assert baseline.ended_since("DEADLINE_EXCEEDED") == 1
    assert baseline.ended_since("CANCELLED") == 0

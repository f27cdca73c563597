"""The asyncio client: every method, its errors, and cancellation (closing
the stream, or cancelling the task) freeing the server's KV blocks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import pytest
from credentials import API_KEYS, Certs
from server import Server

from switchyard_client import (
    AsyncClient,
    DeadlineExceededError,
    FinishReason,
    GenerateOptions,
    HealthStatus,
    InvalidArgumentError,
    NotFoundError,
    Tls,
    UnauthenticatedError,
)

PROMPT = "The yard master walked the length of the platform"
LONG: GenerateOptions = {"max_tokens": 511, "ignore_eos": True, "temperature": 0.0}


async def wait_until_idle(client: AsyncClient, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        info = await client.model_info()
        if info.num_running == 0 and info.num_waiting == 0 and info.kv_blocks_free == info.kv_blocks_total:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not go idle: {info}")
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_every_method(server: Server) -> None:
    async with AsyncClient(server.address, timeout=30) as client:
        result = await client.generate(PROMPT, max_tokens=12, temperature=0, logprobs=2, return_routing=True)
        assert result.text.startswith(" with a clipboard")
        assert result.finish_reason is FinishReason.LENGTH
        assert len(result.logprobs) == len(result.routing) == 12
        chunks = [chunk async for chunk in client.generate_stream(PROMPT, max_tokens=12, temperature=0)]
        assert "".join(c.text for c in chunks) == result.text
        end = chunks[-1].end
        assert end is not None
        # The stream may find the prompt's KV cached by the unary call.
        assert (end.usage.prompt_tokens, end.usage.completion_tokens) == \
            (result.usage.prompt_tokens, result.usage.completion_tokens)
        assert end.usage.cached_prompt_tokens >= result.usage.cached_prompt_tokens
        ids = await client.tokenize("The yard master")
        assert await client.detokenize(ids) == "The yard master"
        assert await client.tokenize("The yard master", add_special_tokens=False) == ids[1:]
        info = await client.model_info()
        assert info.architecture == "MixtralForCausalLM"
        load = await client.expert_load()
        assert load.num_experts == info.num_experts and len(load.layers) == info.num_layers
        async with client.watch_expert_load(interval=0.1) as loads:
            first = await loads.__anext__()
            second = await loads.__anext__()
            assert second.num_steps >= first.num_steps
        assert [x async for x in loads] == []  # closed: iteration ends
        assert await client.health() is HealthStatus.SERVING


@pytest.mark.asyncio
async def test_errors_are_the_same_classes(server: Server) -> None:
    async with AsyncClient(server.address, timeout=30) as client:
        with pytest.raises(InvalidArgumentError, match=r"top_p must be in \(0, 1\], got 2"):
            await client.generate(PROMPT, top_p=2)
        with pytest.raises(InvalidArgumentError):
            async for _ in client.generate_stream(PROMPT, temperature=-1):
                pass
        with pytest.raises(DeadlineExceededError):
            await client.generate([1], timeout=0.005, **LONG)
        with pytest.raises(NotFoundError):
            await client.health("no.such.Service")
    async with AsyncClient(server.address, model="other") as client:
        with pytest.raises(NotFoundError):
            await client.model_info()


async def cancelled_mid_generation(client: AsyncClient, server: Server, rpc: str,
                                   run: Callable[[], Awaitable[None]]) -> float:
    """Awaits `run` (a long generation, cancelled somehow) until the request
    reached the engine and the cancellation reached the server before the
    generation ended (the demo model needs only ~35 ms for it); returns how
    many calls of `rpc` the server then ended CANCELLED."""
    for _ in range(5):
        await wait_until_idle(client)
        cancelled = server.calls(rpc, "CANCELLED")
        generated = server.metric("switchyard_generated_tokens_total")
        await run()
        await wait_until_idle(client, timeout=2)  # every KV block free again
        if 0 < server.metric("switchyard_generated_tokens_total") - generated < LONG["max_tokens"]:
            # Counted when gRPC is done with the call, just after the engine.
            for _ in range(200):
                if server.calls(rpc, "CANCELLED") > cancelled:
                    break
                await asyncio.sleep(0.01)
            return server.calls(rpc, "CANCELLED") - cancelled
    pytest.fail("every generation ran to its end: the cancellation did not stop it")


@pytest.mark.asyncio
async def test_closing_a_stream_frees_its_kv_blocks(server: Server) -> None:
    async with AsyncClient(server.address, timeout=30) as client:
        seen = []

        async def run() -> None:
            stream = client.generate_stream([1], **LONG)
            await stream.__anext__()
            for _ in range(20):  # the server's state trails the tokens it sent by up to one step
                seen.append(await client.model_info())
                if seen[-1].num_running == 1:
                    break
            await stream.aclose()
            assert [c async for c in stream] == []

        assert await cancelled_mid_generation(client, server, "GenerateStream", run) == 1
        assert seen[-1].num_running == 1 and seen[-1].kv_blocks_free < seen[-1].kv_blocks_total


@pytest.mark.asyncio
async def test_cancelling_the_task_cancels_the_call(server: Server) -> None:
    async with AsyncClient(server.address, timeout=30) as client:

        async def run() -> None:
            task = asyncio.create_task(client.generate([1], **LONG))
            while not task.done() and (await client.model_info()).num_running == 0:
                pass
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):  # asyncio's own, not wrapped
                await task

        assert await cancelled_mid_generation(client, server, "Generate", run) == 1


@pytest.mark.asyncio
async def test_cancelling_the_task_reading_a_stream_cancels_it(server: Server) -> None:
    async with AsyncClient(server.address, timeout=30) as client:

        async def run() -> None:
            started = asyncio.Event()

            async def consume() -> None:
                async for _ in client.generate_stream([1], **LONG):
                    started.set()
                    await asyncio.sleep(10)  # a slow consumer, cancelled while it holds the stream

            task = asyncio.create_task(consume())
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        assert await cancelled_mid_generation(client, server, "GenerateStream", run) == 1


@pytest.mark.asyncio
async def test_tls_and_api_key(tls_server: Server, certs: Certs) -> None:
    async with AsyncClient(tls_server.address, tls=Tls(ca_file=certs.ca), api_key=API_KEYS[0], timeout=10) as c:
        assert (await c.model_info()).name == "mixtral"
    async with AsyncClient(tls_server.address, tls=Tls(ca_file=certs.ca), timeout=10) as c:
        with pytest.raises(UnauthenticatedError):
            await c.tokenize("x")

"""Prefix caching through the client: `cache_salt`, `usage.cached_prompt_tokens`
and the cached and evictable block counts of `model_info()`.

The server reuses a cached prompt prefix in whole KV blocks (the test server
keeps the default block size, 16 tokens), never the prompt's last token, and
only between requests of the same salt. Each test uses a prompt or a salt of
its own, so that what the session's other tests sent cannot be cached for it.
"""

from __future__ import annotations

import uuid

import pytest
from server import Server

from switchyard_client import AsyncClient, Client, InvalidArgumentError, Usage
from switchyard_client._convert import generate_request

# 48 tokens with the demo model's tokenizer (BOS included): two whole blocks
# before the last token. No other test sends it.
PROMPT = "The night shift at the freight yard began when the last passenger train left platform nine at dusk"


def salt() -> str:
    return f"test-{uuid.uuid4()}"


def check_cached(usage: Usage, block_size: int) -> None:
    """A hit: whole blocks of the prompt, its last token computed."""
    assert usage.cached_prompt_tokens >= block_size
    assert usage.cached_prompt_tokens % block_size == 0
    assert usage.cached_prompt_tokens <= usage.prompt_tokens - 1


def test_the_prompt_is_long_enough_to_fill_blocks(client: Client) -> None:
    info = client.model_info()
    assert info.kv_block_size == 16  # the server's default, which the test server keeps
    assert 40 <= len(client.tokenize(PROMPT)) <= 56  # ~48


def test_the_same_prompt_again_comes_from_the_prefix_cache(client: Client) -> None:
    block_size = client.model_info().kv_block_size
    first = client.generate(PROMPT, max_tokens=4, temperature=0)
    assert first.usage.cached_prompt_tokens == 0
    assert first.usage.prompt_tokens == len(client.tokenize(PROMPT))

    second = client.generate(PROMPT, max_tokens=4, temperature=0)
    check_cached(second.usage, block_size)
    assert second.usage.prompt_tokens == first.usage.prompt_tokens
    assert second.token_ids == first.token_ids  # cached KV gives the tokens computed KV gives

    # Streamed, the end's usage says the same.
    with client.generate_stream(PROMPT, max_tokens=4, temperature=0) as stream:
        tokens = tuple(t for chunk in stream for t in chunk.token_ids)
    assert stream.end is not None
    assert stream.end.usage == second.usage
    assert tokens == first.token_ids


def test_a_different_cache_salt_shares_nothing(client: Client) -> None:
    block_size = client.model_info().kv_block_size
    client.generate(PROMPT, max_tokens=1, temperature=0)  # cached with the default (empty) salt
    assert client.generate(PROMPT, max_tokens=1, temperature=0).usage.cached_prompt_tokens >= block_size

    mine, theirs = salt(), salt()
    a = client.generate(PROMPT, max_tokens=4, temperature=0, cache_salt=mine)
    assert a.usage.cached_prompt_tokens == 0  # the empty salt's blocks are not shared with it
    b = client.generate(PROMPT, max_tokens=4, temperature=0, cache_salt=mine)
    check_cached(b.usage, block_size)  # the same salt shares
    c = client.generate(PROMPT, max_tokens=4, temperature=0, cache_salt=theirs)
    assert c.usage.cached_prompt_tokens == 0
    assert a.token_ids == b.token_ids == c.token_ids


def test_model_info_counts_cached_and_evictable_blocks(client: Client) -> None:
    mine = salt()
    client.generate(PROMPT, max_tokens=1, temperature=0, cache_salt=mine)
    info = client.model_info()
    # This salt's whole blocks at least, which no request uses now.
    assert info.kv_blocks_cached >= info.kv_blocks_evictable >= 2
    assert info.kv_blocks_evictable <= info.kv_blocks_free <= info.kv_blocks_total  # evictable counts as free


@pytest.mark.asyncio
async def test_async_client_reports_cached_prompt_tokens(server: Server) -> None:
    mine = salt()
    async with AsyncClient(server.address, timeout=30) as client:
        block_size = (await client.model_info()).kv_block_size
        first = await client.generate(PROMPT, max_tokens=2, temperature=0, cache_salt=mine)
        assert first.usage.cached_prompt_tokens == 0
        chunks = [chunk async for chunk in client.generate_stream(PROMPT, max_tokens=2, temperature=0,
                                                                  cache_salt=mine)]
        end = chunks[-1].end
        assert end is not None
        check_cached(end.usage, block_size)
        assert (await client.model_info()).kv_blocks_cached > 0


def test_a_salt_of_256_bytes_is_taken_and_257_refused(client: Client) -> None:
    at_limit = "é" * 128  # 256 bytes in UTF-8: the limit is in bytes, not characters
    assert client.generate(PROMPT, max_tokens=1, cache_salt=at_limit).usage.cached_prompt_tokens == 0
    with pytest.raises(InvalidArgumentError, match="cache_salt") as caught:
        client.generate(PROMPT, max_tokens=1, cache_salt="x" * 257)
    assert isinstance(caught.value, ValueError)
    with pytest.raises(InvalidArgumentError, match="cache_salt"):
        client.generate(PROMPT, max_tokens=1, cache_salt=at_limit + "x")


@pytest.mark.asyncio
async def test_async_client_refuses_a_257_byte_salt(server: Server) -> None:
    async with AsyncClient(server.address, timeout=30) as client:
        with pytest.raises(InvalidArgumentError, match="cache_salt"):
            await client.generate(PROMPT, max_tokens=1, cache_salt="x" * 257)


def test_cache_salt_goes_into_the_request() -> None:
    assert generate_request("", "hi", {"cache_salt": "tenant-a"}).cache_salt == "tenant-a"
    assert generate_request("", "hi", {}).cache_salt == ""

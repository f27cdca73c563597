"""Generate with a Switchyard server, unary, streamed and with asyncio.

    build/switchyard serve &                      # the demo model on 127.0.0.1:50051
    python examples/generate.py [TARGET]

With TLS or API keys, set SWITCHYARD_CA_FILE (the server's CA) and
SWITCHYARD_API_KEY. test.sh runs this file against a real server and
checks it with `mypy --strict`.
"""

from __future__ import annotations

import asyncio
import os
import sys

from switchyard_client import AsyncClient, Client, InvalidArgumentError, Tls, UnavailableError

PROMPT = "The yard master walked the length of the platform"


def tls() -> Tls | bool:
    ca_file = os.environ.get("SWITCHYARD_CA_FILE")
    return Tls(ca_file=ca_file) if ca_file else False


def sync_example(target: str) -> None:
    # The API key, if any, comes from $SWITCHYARD_API_KEY, as for switchyard-cli.
    with Client(target, tls=tls(), timeout=30) as client:
        info = client.model_info()
        print(f"{info.name}: {info.architecture}, {info.num_experts} experts (top {info.top_k}), "
              f"{info.kv_blocks_free}/{info.kv_blocks_total} KV blocks free, "
              f"{info.kv_blocks_cached} holding cached prefixes")

        result = client.generate(PROMPT, max_tokens=16, temperature=0, logprobs=1)
        print(PROMPT + result.text)  # the completion starts with its space, as with vLLM and TGI
        print(f"[{result.finish_reason.value}, {result.usage.completion_tokens} tokens, "
              f"first token after {result.timings.time_to_first_token * 1000:.1f} ms]")

        # The same prompt again: its KV comes from the server's prefix cache
        # (whole blocks; the last prompt token is always computed), unless
        # the server runs with --no-prefix-caching. Requests with another
        # cache_salt (e.g. a secret per tenant) share no cached prefix with it.
        again = client.generate(PROMPT, max_tokens=1, temperature=0)
        salted = client.generate(PROMPT, max_tokens=1, temperature=0, cache_salt="tenant-a")
        print(f"[prompt tokens from the prefix cache: {again.usage.cached_prompt_tokens} of "
              f"{again.usage.prompt_tokens}; with cache_salt 'tenant-a': {salted.usage.cached_prompt_tokens}]")

        # Streamed; leaving the `with` block early would cancel the generation.
        with client.generate_stream(PROMPT, max_tokens=16, temperature=0.8, seed=7) as stream:
            for chunk in stream:
                print(chunk.text, end="", flush=True)
        assert stream.end is not None
        print(f"\n[{stream.end.finish_reason.value}, {stream.end.usage.total_tokens} tokens in all]")

        try:
            client.generate(PROMPT, top_p=2)
        except InvalidArgumentError as e:  # the server names the field and its range
            print(f"refused: {e.message}")


async def async_example(target: str) -> None:
    async with AsyncClient(target, tls=tls(), timeout=30) as client:
        # Three generations at once; the server batches them.
        results = await asyncio.gather(
            *(client.generate(PROMPT, max_tokens=8, temperature=1.5, seed=s) for s in range(3)))
        for seed, r in enumerate(results):
            print(f"seed {seed}: {r.text!r}")
        load = await client.expert_load()
        for layer in load.layers:
            print(f"layer {layer.layer}: tokens per expert {list(layer.tokens)}, max/mean {layer.imbalance:.2f}")


def main() -> int:
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    try:
        sync_example(target)
        asyncio.run(async_example(target))
    except UnavailableError as e:
        print(f"cannot reach {target}: {e.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

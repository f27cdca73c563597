"""Every method of the synchronous client against the real server."""

from __future__ import annotations

import os

import pytest
from server import Server

import switchyard_client
from switchyard_client import Client, FinishReason, HealthStatus, StreamChunk

PROMPT = "The yard master walked the length of the platform"


def test_generate_greedy_returns_a_typed_result(client: Client) -> None:
    result = client.generate(PROMPT, max_tokens=12, temperature=0, request_id="req-1")
    # The demo model continues the prompt with real words (README).
    assert result.text.startswith(" with a clipboard")
    assert result.request_id == "req-1"
    assert len(result.token_ids) == 12
    assert result.finish_reason is FinishReason.LENGTH
    assert result.usage.completion_tokens == 12
    assert result.usage.prompt_tokens == len(client.tokenize(PROMPT))
    assert result.usage.total_tokens == result.usage.prompt_tokens + 12
    assert 0 <= result.timings.queue_time <= result.timings.time_to_first_token <= result.timings.total_time < 5
    assert result.logprobs == () and result.routing == ()


def test_generate_from_token_ids_matches_text(client: Client) -> None:
    ids = client.tokenize(PROMPT)
    assert client.generate(ids, max_tokens=8, temperature=0).text == \
        client.generate(PROMPT, max_tokens=8, temperature=0).text


def test_generate_with_logprobs_and_routing(client: Client) -> None:
    info = client.model_info()
    result = client.generate(PROMPT, max_tokens=5, temperature=0, logprobs=3, return_routing=True)
    assert len(result.logprobs) == len(result.routing) == 5
    for token_id, lp, routing in zip(result.token_ids, result.logprobs, result.routing, strict=True):
        assert lp.token_id == token_id
        assert len(lp.top) == 3
        assert lp.top[0].logprob >= lp.top[1].logprob >= lp.top[2].logprob
        assert lp.top[0].token_id == token_id  # greedy takes the most likely
        layers = routing.by_layer(info.top_k)
        assert len(layers) == info.num_layers
        assert all(0 <= e < info.num_experts for layer in layers for e in layer)


def test_sampling_with_a_seed_repeats_and_stop_strings_stop(client: Client) -> None:
    a = client.generate(PROMPT, max_tokens=10, temperature=0.8, top_p=0.9, seed=7)
    b = client.generate(PROMPT, max_tokens=10, temperature=0.8, top_p=0.9, seed=7)
    assert a.token_ids == b.token_ids
    stopped = client.generate(PROMPT, max_tokens=12, temperature=0, stop=["clipboard"])
    assert stopped.finish_reason is FinishReason.STOP
    assert stopped.text == " with a "


def test_generate_stream_chunks_concatenate_to_the_unary_text(client: Client) -> None:
    unary = client.generate(PROMPT, max_tokens=16, temperature=0, logprobs=1, return_routing=True)
    with client.generate_stream(PROMPT, max_tokens=16, temperature=0, logprobs=1, return_routing=True,
                                request_id="s-1") as stream:
        chunks: list[StreamChunk] = list(stream)
    assert chunks[-1].end is not None and all(c.end is None for c in chunks[:-1])
    assert "".join(c.text for c in chunks) == unary.text
    assert tuple(t for c in chunks for t in c.token_ids) == unary.token_ids
    assert tuple(lp for c in chunks for lp in c.logprobs) == unary.logprobs
    assert tuple(r for c in chunks for r in c.routing) == unary.routing
    end = stream.end
    assert end is chunks[-1].end
    assert end.request_id == "s-1"
    assert end.finish_reason is FinishReason.LENGTH
    # The stream may find the prompt's KV cached by the unary call.
    assert (end.usage.prompt_tokens, end.usage.completion_tokens) == \
        (unary.usage.prompt_tokens, unary.usage.completion_tokens)
    assert end.usage.cached_prompt_tokens >= unary.usage.cached_prompt_tokens
    assert end.timings.time_to_first_token <= end.timings.total_time


def test_tokenize_and_detokenize_round_trip(client: Client) -> None:
    ids = client.tokenize("The yard master")
    assert ids[0] == 1  # BOS, added by default
    assert client.tokenize("The yard master", add_special_tokens=False) == ids[1:]
    assert client.detokenize(ids) == "The yard master"
    assert client.detokenize(ids, skip_special_tokens=False).startswith("<s>")


def test_model_info(client: Client) -> None:
    info = client.model_info()
    assert info.architecture == "MixtralForCausalLM"
    assert info.name == "mixtral"
    assert (info.num_layers, info.num_experts, info.top_k) == (2, 8, 2)
    assert info.context_length == 512 and info.vocab_size == 512
    assert info.backend == "cpu"
    assert info.kv_cache_bytes == 16 << 20
    assert 0 < info.kv_blocks_free <= info.kv_blocks_total


def test_expert_load_counts_the_tokens_routed(client: Client) -> None:
    before = client.expert_load()
    client.generate(PROMPT, max_tokens=4, temperature=0)
    after = client.expert_load()
    assert (after.num_layers, after.num_experts, after.top_k) == (2, 8, 2)
    assert after.num_steps > before.num_steps
    assert after.window_seconds == 60
    assert len(after.layers) == 2
    for b, a in zip(before.layers, after.layers, strict=True):
        assert len(a.tokens) == len(a.recent_tokens) == len(a.last_step_tokens) == 8
        assert sum(a.tokens) > sum(b.tokens)
        assert a.imbalance >= 1


def test_watch_expert_load_pushes_until_closed(client: Client) -> None:
    with client.watch_expert_load(interval=0.1) as stream:
        first = next(stream)
        client.generate(PROMPT, max_tokens=4, temperature=0)
        for load in stream:  # until a push shows the generation's steps
            if load.num_steps > first.num_steps:
                break
    assert list(stream) == []  # closed: iteration ends


def test_health(client: Client) -> None:
    assert client.health() is HealthStatus.SERVING
    assert client.health("switchyard.v1.Switchyard") is HealthStatus.SERVING


def test_dns_target_with_round_robin(server: Server) -> None:
    # localhost may also resolve to ::1, where nothing listens; round_robin
    # uses the addresses that connect.
    with Client(f"dns:///localhost:{server.port}", load_balancing="round_robin", timeout=10) as c:
        for _ in range(3):
            assert c.model_info().name == "mixtral"


def test_unknown_generate_option_is_a_type_error(client: Client) -> None:
    with pytest.raises(TypeError, match="max_new_tokens"):
        client.generate(PROMPT, max_new_tokens=3)  # type: ignore[call-arg]


@pytest.mark.skipif(not os.environ.get("SWITCHYARD_CLIENT_FROM_WHEEL"), reason="test.sh sets it")
def test_the_installed_wheel_is_under_test() -> None:
    # test.sh runs the tests against the wheel installed in a fresh venv,
    # never against src/.
    assert "site-packages" in (switchyard_client.__file__ or "")

"""Between the caller's Python values and the API's protobuf messages, in
one place for both clients: requests from keyword arguments, results
(frozen dataclasses) from responses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from switchyard_client._proto.switchyard.v1 import switchyard_pb2 as pb
from switchyard_client.options import GenerateOptions
from switchyard_client.results import (
    ExpertLoad,
    FinishReason,
    GenerateResult,
    GenerationEnd,
    LayerExpertLoad,
    ModelInfo,
    StreamChunk,
    Timings,
    TokenLogprob,
    TokenLogprobs,
    TokenRouting,
    Usage,
)

_SAMPLING = ("temperature", "top_k", "top_p", "min_p", "repetition_penalty", "presence_penalty",
             "frequency_penalty", "seed")
_KNOWN = frozenset(GenerateOptions.__annotations__)


def generate_request(model: str, prompt: str | Sequence[int], options: GenerateOptions) -> pb.GenerateRequest:
    unknown = sorted(set(options) - _KNOWN)
    if unknown:  # a typo would otherwise be dropped without a word
        raise TypeError(f"unknown generate option(s) {unknown}; known: {sorted(_KNOWN)}")
    request = pb.GenerateRequest(
        model=model,
        logprobs=options.get("logprobs", 0),
        request_id=options.get("request_id", ""),
        return_routing=options.get("return_routing", False),
        cache_salt=options.get("cache_salt", ""),
    )
    if isinstance(prompt, str):
        request.text = prompt
    else:
        request.token_ids.ids.extend(prompt)
    for name in _SAMPLING:
        value = options.get(name)
        if value is not None:
            setattr(request.sampling, name, value)
    stopping = request.stopping
    if options.get("max_tokens") is not None:
        stopping.max_tokens = options["max_tokens"]
    stopping.stop.extend(options.get("stop", ()))
    stopping.stop_token_ids.extend(options.get("stop_token_ids", ()))
    stopping.ignore_eos = options.get("ignore_eos", False)
    return request


_FINISH_REASONS = {
    pb.FINISH_REASON_LENGTH: FinishReason.LENGTH,
    pb.FINISH_REASON_STOP: FinishReason.STOP,
    pb.FINISH_REASON_EOS: FinishReason.EOS,
    pb.FINISH_REASON_CANCELLED: FinishReason.CANCELLED,
    pb.FINISH_REASON_DEADLINE_EXCEEDED: FinishReason.DEADLINE_EXCEEDED,
}


def finish_reason(value: pb.FinishReason.ValueType) -> FinishReason:
    return _FINISH_REASONS.get(value, FinishReason.UNSPECIFIED)  # a newer server's reason: unspecified


def usage(message: pb.Usage) -> Usage:
    return Usage(prompt_tokens=message.prompt_tokens, completion_tokens=message.completion_tokens,
                 cached_prompt_tokens=message.cached_prompt_tokens)


def timings(message: pb.Timings) -> Timings:
    return Timings(queue_time=message.queue_time_us / 1e6,
                   time_to_first_token=message.time_to_first_token_us / 1e6,
                   total_time=message.total_time_us / 1e6)


def logprobs(messages: Iterable[pb.TokenLogprobs]) -> tuple[TokenLogprobs, ...]:
    return tuple(
        TokenLogprobs(token_id=m.token_id, logprob=m.logprob,
                      top=tuple(TokenLogprob(token_id=t.token_id, logprob=t.logprob) for t in m.top))
        for m in messages)


def routing(messages: Iterable[pb.TokenRouting]) -> tuple[TokenRouting, ...]:
    return tuple(TokenRouting(experts=tuple(m.experts)) for m in messages)


def generate_result(response: pb.GenerateResponse) -> GenerateResult:
    return GenerateResult(
        request_id=response.request_id,
        text=response.text,
        token_ids=tuple(response.token_ids),
        finish_reason=finish_reason(response.finish_reason),
        usage=usage(response.usage),
        timings=timings(response.timings),
        logprobs=logprobs(response.logprobs),
        routing=routing(response.routing),
    )


def stream_chunk(response: pb.GenerateStreamResponse) -> StreamChunk:
    if response.HasField("end"):
        end = response.end
        return StreamChunk(text="", token_ids=(), logprobs=(), routing=(), end=GenerationEnd(
            request_id=end.request_id, finish_reason=finish_reason(end.finish_reason),
            usage=usage(end.usage), timings=timings(end.timings)))
    chunk = response.chunk
    return StreamChunk(text=chunk.text, token_ids=tuple(chunk.token_ids), logprobs=logprobs(chunk.logprobs),
                       routing=routing(chunk.routing))


def model_info(m: pb.ModelInfo) -> ModelInfo:
    return ModelInfo(
        name=m.name, architecture=m.architecture, num_layers=m.num_layers, num_experts=m.num_experts,
        top_k=m.top_k, context_length=m.context_length, vocab_size=m.vocab_size, dtype=m.dtype,
        backend=m.backend, weight_bytes=m.weight_bytes, kv_cache_bytes=m.kv_cache_bytes,
        kv_block_size=m.kv_block_size, kv_blocks_total=m.kv_blocks_total, kv_blocks_free=m.kv_blocks_free,
        num_running=m.num_running, num_waiting=m.num_waiting, kv_blocks_cached=m.kv_blocks_cached,
        kv_blocks_evictable=m.kv_blocks_evictable)


def expert_load(m: pb.ExpertLoad) -> ExpertLoad:
    return ExpertLoad(
        num_layers=m.num_layers, num_experts=m.num_experts, top_k=m.top_k, num_steps=m.num_steps,
        window_seconds=m.window_seconds,
        layers=tuple(
            LayerExpertLoad(layer=layer.layer, tokens=tuple(layer.tokens), recent_tokens=tuple(layer.recent_tokens),
                            last_step_tokens=tuple(layer.last_step_tokens), imbalance=layer.imbalance,
                            recent_imbalance=layer.recent_imbalance,
                            last_step_imbalance=layer.last_step_imbalance)
            for layer in m.layers))


def interval_ms(interval: float) -> int:
    """WatchExpertLoad's interval_ms from seconds (the server checks the range)."""
    return int(round(interval * 1000))

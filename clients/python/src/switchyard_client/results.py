"""What the client's methods return: frozen dataclasses with plain Python
types (tuples, enums, seconds as float), so that callers never handle
protobuf messages and a result can be compared, hashed and printed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FinishReason(str, enum.Enum):
    """Why a generation ended; the values are the names vLLM and TGI users
    compare against ("length", "stop")."""

    UNSPECIFIED = "unspecified"
    LENGTH = "length"  # max_tokens generated
    STOP = "stop"  # a stop string or stop token id
    EOS = "eos"  # the model's end-of-sequence token
    CANCELLED = "cancelled"
    DEADLINE_EXCEEDED = "deadline_exceeded"


class HealthStatus(enum.Enum):
    """grpc.health.v1's serving status."""

    UNKNOWN = 0
    SERVING = 1
    NOT_SERVING = 2
    SERVICE_UNKNOWN = 3


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    # Of prompt_tokens, those whose KV came from the server's prefix cache
    # instead of being computed (OpenAI's prompt_tokens_details.cached_tokens),
    # in whole KV blocks; 0 with prefix caching off.
    cached_prompt_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Timings:
    """Measured by the server, in seconds."""

    queue_time: float  # from receipt until the engine thread took the request
    time_to_first_token: float  # from receipt to the first token
    total_time: float  # from receipt to the last token


@dataclass(frozen=True)
class TokenLogprob:
    token_id: int
    logprob: float


@dataclass(frozen=True)
class TokenLogprobs:
    """Log-softmax of the raw logits at one generated token."""

    token_id: int  # the generated token
    logprob: float
    top: tuple[TokenLogprob, ...]  # the `logprobs` most likely, best first


@dataclass(frozen=True)
class TokenRouting:
    """The experts that computed one generated token: [num_layers * top_k],
    layer by layer, best first; -1 in a dense layer."""

    experts: tuple[int, ...]

    def by_layer(self, top_k: int) -> tuple[tuple[int, ...], ...]:
        """The experts split per layer (top_k from `model_info()`)."""
        if top_k <= 0 or len(self.experts) % top_k != 0:
            raise ValueError(f"top_k {top_k} does not divide {len(self.experts)} experts")
        return tuple(self.experts[i:i + top_k] for i in range(0, len(self.experts), top_k))


@dataclass(frozen=True)
class GenerateResult:
    request_id: str
    text: str  # the completion alone, starting with the space after the prompt, as vLLM and TGI return it
    token_ids: tuple[int, ...]
    finish_reason: FinishReason
    usage: Usage
    timings: Timings
    logprobs: tuple[TokenLogprobs, ...]  # one per token when `logprobs` was asked, else empty
    routing: tuple[TokenRouting, ...]  # one per token with return_routing, else empty


@dataclass(frozen=True)
class GenerationEnd:
    """How a streamed generation ended."""

    request_id: str
    finish_reason: FinishReason
    usage: Usage
    timings: Timings


@dataclass(frozen=True)
class StreamChunk:
    """One piece of a streamed generation. The texts of all chunks
    concatenate to the unary `GenerateResult.text` (text that may begin a
    stop string is held back); the last chunk has no tokens and carries
    `end`."""

    text: str
    token_ids: tuple[int, ...]
    logprobs: tuple[TokenLogprobs, ...]
    routing: tuple[TokenRouting, ...]
    end: GenerationEnd | None = None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    architecture: str  # as in config.json, e.g. "MixtralForCausalLM"
    num_layers: int
    num_experts: int
    top_k: int  # experts per token
    context_length: int
    vocab_size: int
    dtype: str  # of the checkpoint: "F32", "BF16", "F16"
    backend: str  # "cpu" or "cuda"
    weight_bytes: int
    kv_cache_bytes: int
    kv_block_size: int  # tokens per block
    kv_blocks_total: int
    kv_blocks_free: int
    num_running: int  # requests generating now
    num_waiting: int  # requests waiting for the KV cache
    # Prefix caching: blocks holding a cached prompt prefix, in use or not;
    # of those, the ones no request uses, which count in kv_blocks_free and
    # are reused last, least recently used first.
    kv_blocks_cached: int = 0
    kv_blocks_evictable: int = 0


@dataclass(frozen=True)
class LayerExpertLoad:
    layer: int
    tokens: tuple[int, ...]  # per expert, since the server started
    recent_tokens: tuple[int, ...]  # per expert, over the last `ExpertLoad.window_seconds`
    last_step_tokens: tuple[int, ...]  # per expert, in the engine's last step
    imbalance: float  # max over mean of `tokens`: 1 balanced, num_experts all on one; 0 before any token
    recent_imbalance: float
    last_step_imbalance: float


@dataclass(frozen=True)
class ExpertLoad:
    num_layers: int
    num_experts: int
    top_k: int
    num_steps: int  # engine steps since start
    window_seconds: float  # what `recent_tokens` covers (the server's --expert-load-window)
    layers: tuple[LayerExpertLoad, ...]

"""How a client connects (TLS, keepalive, the retry policy) and what a
generation may ask for (`GenerateOptions`).

Plain values, checked when made, so that a wrong setting fails where it is
written rather than as a puzzling connection error later.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias, TypedDict

import grpc

StrPath: TypeAlias = str | os.PathLike[str]


@dataclass(frozen=True)
class Tls:
    """TLS to the server; with `cert_file` and `key_file`, mutual TLS.

    The same choices as `switchyard-cli`'s --tls-ca-file, --tls-cert-file,
    --tls-key-file and --tls-server-name."""

    ca_file: StrPath | None = None  # PEM CAs the server's certificate must chain to; None = system roots
    cert_file: StrPath | None = None  # PEM client certificate chain (mutual TLS), with key_file
    key_file: StrPath | None = None
    server_name: str | None = None  # name the server's certificate must carry; None = the target's host

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("a TLS client certificate needs its private key file, and the other way round")


@dataclass(frozen=True)
class Keepalive:
    """HTTP/2 pings that find a dead connection (a vanished server, a NAT
    that dropped the flow) while a long generation sends nothing.

    The server accepts a ping at most every 10 s and closes connections that
    ping faster (GOAWAY too_many_pings), hence the lower bound on `time`."""

    time: float = 30.0  # seconds between pings
    timeout: float = 10.0  # seconds to wait for the ping's answer before closing the connection
    permit_without_calls: bool = False  # also ping while no call is in flight

    def __post_init__(self) -> None:
        if self.time < 10.0:
            raise ValueError(f"keepalive time must be >= 10 s (the server's minimum ping interval), got {self.time}")
        if self.timeout <= 0:
            raise ValueError(f"keepalive timeout must be > 0, got {self.timeout}")


# Codes whose retry could only fail the same way: the request itself, or the
# caller's rights, are wrong. gRPC would retry them if asked; we refuse.
_NEVER_RETRIED = frozenset({
    grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.UNIMPLEMENTED,
})


@dataclass(frozen=True)
class RetryPolicy:
    """gRPC's own retries (the channel's service config), with exponential
    backoff: attempt n+1 waits a random time in [0, min(initial_backoff *
    multiplier**(n-1), max_backoff)].

    gRPC retries a call only while the server has sent nothing of the
    response, so a stream that has begun is never replayed; every attempt
    counts against the call's one deadline. With `round_robin` each attempt
    picks the next replica, so a draining server's UNAVAILABLE is answered
    by another one."""

    max_attempts: int = 5  # the first call and up to 4 retries; gRPC allows at most 5
    initial_backoff: float = 0.25  # seconds
    max_backoff: float = 4.0  # seconds
    backoff_multiplier: float = 2.0
    retryable_codes: tuple[grpc.StatusCode, ...] = field(default=(grpc.StatusCode.UNAVAILABLE,))

    def __post_init__(self) -> None:
        if not 2 <= self.max_attempts <= 5:
            raise ValueError(f"max_attempts must be in [2, 5] (gRPC's limit), got {self.max_attempts}")
        if self.initial_backoff <= 0 or self.max_backoff <= 0 or self.backoff_multiplier <= 0:
            raise ValueError("initial_backoff, max_backoff and backoff_multiplier must be > 0")
        if not self.retryable_codes:
            raise ValueError("retryable_codes is empty; pass retry=None for no retries")
        refused = sorted(c.name for c in self.retryable_codes if c in _NEVER_RETRIED)
        if refused:
            raise ValueError(f"these codes mean the request itself is wrong and are never retried: {refused}")


class GenerateOptions(TypedDict, total=False):
    """The keyword arguments of `generate()` and `generate_stream()`. Left
    out, each takes the server's default (vLLM's): temperature 1, every
    truncation and penalty off, a random seed, 16 tokens. The server checks
    the ranges and answers INVALID_ARGUMENT naming the field."""

    max_tokens: int  # [1, context length - prompt]
    temperature: float  # [0, inf); 0 = greedy
    top_k: int  # [0, inf); 0 = off
    top_p: float  # (0, 1]; 1 = off
    min_p: float  # [0, 1]; 0 = off
    repetition_penalty: float  # (0, inf); 1 = off
    presence_penalty: float  # [-2, 2]
    frequency_penalty: float  # [-2, 2]
    seed: int  # same seed, same tokens
    stop: Sequence[str]  # stop strings; the text ends before them
    stop_token_ids: Sequence[int]
    ignore_eos: bool  # generate past the end-of-sequence token
    logprobs: int  # [0, 20]: top logprobs returned per generated token
    return_routing: bool  # the experts each generated token was routed to
    request_id: str  # echoed back, and in the server's logs
    cache_salt: str  # at most 256 bytes: cached prompt prefixes are shared only with requests of the same salt

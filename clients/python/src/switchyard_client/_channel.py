"""Turns the client's settings into what grpc.Channel / grpc.aio.Channel
take: credentials, channel options and the service config (retries and load
balancing). Shared by the sync and asyncio clients so they connect alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import grpc

from switchyard_client._api_key import authorization, load_api_key
from switchyard_client._version import __version__
from switchyard_client.options import Keepalive, RetryPolicy, StrPath, Tls

LoadBalancing = Literal["pick_first", "round_robin"]
ChannelOption = tuple[str, Any]

SERVICE = "switchyard.v1.Switchyard"
DEFAULT_TARGET = "127.0.0.1:50051"  # where `switchyard serve` listens by default
DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True)
class ChannelSettings:
    target: str
    credentials: grpc.ChannelCredentials | None  # None = plaintext
    options: tuple[ChannelOption, ...]
    metadata: tuple[tuple[str, str], ...]  # sent with every call (the API key among them)
    timeout: float | None  # the default deadline of a call, in seconds
    model: str


def resolve(target: str, *, tls: Tls | bool, api_key: str | None, api_key_file: StrPath | None,
            timeout: float | None, retry: RetryPolicy | None, load_balancing: LoadBalancing,
            keepalive: Keepalive | None, metadata: Sequence[tuple[str, str]],
            channel_options: Sequence[ChannelOption], model: str) -> ChannelSettings:
    if timeout is not None and timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds (or None for no deadline), got {timeout}")
    if load_balancing not in ("pick_first", "round_robin"):
        raise ValueError(f"load_balancing must be 'pick_first' or 'round_robin', got {load_balancing!r}")
    options: list[ChannelOption] = [
        ("grpc.primary_user_agent", f"switchyard-client-python/{__version__}"),
        ("grpc.service_config", service_config(retry, load_balancing)),
        # The service config above is ours; one a DNS TXT record offers must
        # not replace it.
        ("grpc.service_config_disable_resolution", 1),
        # The server bounds what it sends (--max-message-bytes); a long
        # generation with top logprobs outgrows gRPC's 4 MiB default.
        ("grpc.max_receive_message_length", -1),
    ]
    if keepalive is not None:
        options += [
            ("grpc.keepalive_time_ms", int(keepalive.time * 1000)),
            ("grpc.keepalive_timeout_ms", int(keepalive.timeout * 1000)),
            ("grpc.keepalive_permit_without_calls", int(keepalive.permit_without_calls)),
            # Keep pinging a connection that carries no data (a long prefill).
            ("grpc.http2.max_pings_without_data", 0),
        ]
    if isinstance(tls, Tls) and tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    options += list(channel_options)  # last, so that the caller's win
    return ChannelSettings(
        target=target,
        credentials=credentials(tls),
        options=tuple(options),
        metadata=authorization(load_api_key(api_key, api_key_file)) + tuple(metadata),
        timeout=timeout,
        model=model,
    )


def credentials(tls: Tls | bool) -> grpc.ChannelCredentials | None:
    if tls is False:
        return None
    if tls is True:
        return grpc.ssl_channel_credentials()  # the system roots
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca_file),
        private_key=_read(tls.key_file),
        certificate_chain=_read(tls.cert_file),
    )


def _read(path: StrPath | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()


def service_config(retry: RetryPolicy | None, load_balancing: LoadBalancing) -> str:
    """The gRPC service config (JSON): the load balancing policy, and the
    retry policy for every method of the API. Health checks are left out:
    they should report this replica as it is now, not retry past it."""
    config: dict[str, Any] = {"loadBalancingConfig": [{load_balancing: {}}]}
    if retry is not None:
        config["methodConfig"] = [{
            "name": [{"service": SERVICE}],
            "retryPolicy": {
                "maxAttempts": retry.max_attempts,
                "initialBackoff": _duration(retry.initial_backoff),
                "maxBackoff": _duration(retry.max_backoff),
                "backoffMultiplier": retry.backoff_multiplier,
                "retryableStatusCodes": [code.name for code in retry.retryable_codes],
            },
        }]
    return json.dumps(config)


def _duration(seconds: float) -> str:
    return f"{seconds:.9f}".rstrip("0").rstrip(".") + "s"

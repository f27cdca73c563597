"""What the options turn into: the service config (retries, load
balancing), keepalive channel arguments, TLS credentials, and where the API
key comes from."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from server import Server

from switchyard_client import Client, Keepalive, RetryPolicy, Tls, _api_key, _channel


def resolve(**overrides: object) -> _channel.ChannelSettings:
    args: dict[str, object] = dict(tls=False, api_key=None, api_key_file=None, timeout=None,
                                   retry=_channel.DEFAULT_RETRY, load_balancing="pick_first", keepalive=None,
                                   metadata=(), channel_options=(), model="")
    args.update(overrides)
    return _channel.resolve("127.0.0.1:1", **args)  # type: ignore[arg-type]


def test_service_config_retries_unavailable_with_exponential_backoff() -> None:
    config = json.loads(_channel.service_config(RetryPolicy(), "round_robin"))
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    (method,) = config["methodConfig"]
    assert method["name"] == [{"service": "switchyard.v1.Switchyard"}]  # not grpc.health.v1
    assert method["retryPolicy"] == {"maxAttempts": 5, "initialBackoff": "0.25s", "maxBackoff": "4s",
                                     "backoffMultiplier": 2.0, "retryableStatusCodes": ["UNAVAILABLE"]}


def test_no_retry_policy_means_no_retries() -> None:
    settings = resolve(retry=None)
    config = json.loads(dict(settings.options)["grpc.service_config"])
    # gRPC's transparent retries (of calls the server never saw) stay on.
    assert "methodConfig" not in config


def test_retry_policy_refuses_what_cannot_succeed_on_retry() -> None:
    with pytest.raises(ValueError, match="INVALID_ARGUMENT"):
        RetryPolicy(retryable_codes=(grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INVALID_ARGUMENT))
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=6)
    with pytest.raises(ValueError):
        RetryPolicy(initial_backoff=0)
    RetryPolicy(retryable_codes=(grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED))


def test_keepalive_becomes_channel_arguments() -> None:
    options = dict(resolve(keepalive=Keepalive(time=20, timeout=5, permit_without_calls=True)).options)
    assert options["grpc.keepalive_time_ms"] == 20000
    assert options["grpc.keepalive_timeout_ms"] == 5000
    assert options["grpc.keepalive_permit_without_calls"] == 1
    assert "grpc.keepalive_time_ms" not in dict(resolve().options)
    with pytest.raises(ValueError, match="10 s"):
        Keepalive(time=5)  # the server would close the connection (too_many_pings)


def test_a_client_with_keepalive_works(server: Server) -> None:
    with Client(server.address, keepalive=Keepalive(time=10, permit_without_calls=True), timeout=10) as c:
        assert c.model_info().name == "mixtral"


def test_caller_channel_options_come_last_and_win() -> None:
    options = resolve(channel_options=[("grpc.max_receive_message_length", 1 << 20)]).options
    assert dict(options)["grpc.max_receive_message_length"] == 1 << 20


def test_tls_options() -> None:
    assert resolve().credentials is None
    assert resolve(tls=True).credentials is not None
    assert dict(resolve(tls=Tls(server_name="api.example")).options)["grpc.ssl_target_name_override"] == "api.example"
    with pytest.raises(ValueError, match="private key"):
        Tls(cert_file="client.pem")
    with pytest.raises(FileNotFoundError):
        resolve(tls=Tls(ca_file="/nonexistent/ca.pem"))


def test_api_key_from_argument_file_or_environment(tmp_path: Path) -> None:
    assert _api_key.load_api_key(" k1 ", None, {}) == "k1"
    key_file = tmp_path / "key"
    key_file.write_text("k2\n")
    assert _api_key.load_api_key(None, key_file, {"SWITCHYARD_API_KEY": "k3"}) == "k2"  # the file first, as the CLI
    assert _api_key.load_api_key(None, None, {"SWITCHYARD_API_KEY": " k3\n"}) == "k3"
    assert _api_key.load_api_key(None, None, {}) is None
    assert resolve(api_key="k4").metadata == (("authorization", "Bearer k4"),)
    assert resolve().metadata == ()


def test_api_key_file_must_hold_one_key(tmp_path: Path) -> None:
    for text in ("", "\n  \n", "k1\nk2\n"):
        (tmp_path / "key").write_text(text)
        with pytest.raises(ValueError, match="exactly one key"):
            _api_key.load_api_key(None, tmp_path / "key", {})
    with pytest.raises(FileNotFoundError):
        _api_key.load_api_key(None, tmp_path / "missing", {})
    with pytest.raises(ValueError, match="not both"):
        _api_key.load_api_key("k", tmp_path / "key", {})


def test_bad_client_settings_fail_where_written() -> None:
    with pytest.raises(ValueError, match="timeout"):
        Client("127.0.0.1:1", timeout=0)
    with pytest.raises(ValueError, match="load_balancing"):
        Client("127.0.0.1:1", load_balancing="random")  # type: ignore[arg-type]

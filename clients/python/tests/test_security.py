"""TLS, mutual TLS and API keys against servers that require them."""

from __future__ import annotations

from pathlib import Path

import pytest
from credentials import API_KEYS, Certs
from server import Server

from switchyard_client import (
    Client,
    HealthStatus,
    Tls,
    UnauthenticatedError,
    UnavailableError,
)


def tls(certs: Certs, server_name: str | None = None, cert_file: Path | None = None,
        key_file: Path | None = None) -> Tls:
    return Tls(ca_file=certs.ca, server_name=server_name, cert_file=cert_file, key_file=key_file)


def test_tls_with_an_api_key(tls_server: Server, certs: Certs) -> None:
    with Client(tls_server.address, tls=tls(certs), api_key=API_KEYS[1]) as c:
        assert c.generate("The yard master", max_tokens=3, temperature=0).usage.completion_tokens == 3
        assert c.model_info().name == "mixtral"
        with c.generate_stream("The yard master", max_tokens=3) as stream:
            assert list(stream)[-1].end is not None


def test_tls_to_localhost_by_name(tls_server: Server, certs: Certs) -> None:
    with Client(f"localhost:{tls_server.port}", tls=tls(certs), api_key=API_KEYS[0], timeout=10) as c:
        assert c.tokenize("x", add_special_tokens=False) != []


def test_the_servers_certificate_must_chain_to_the_ca(tls_server: Server, certs: Certs) -> None:
    with Client(tls_server.address, tls=Tls(ca_file=certs.other_ca), api_key=API_KEYS[0], retry=None,
                timeout=10) as c:
        with pytest.raises(UnavailableError):
            c.model_info()


def test_the_server_name_is_checked(tls_server: Server, certs: Certs) -> None:
    with Client(tls_server.address, tls=tls(certs, server_name="wrong.example"), api_key=API_KEYS[0],
                retry=None, timeout=10) as c:
        with pytest.raises(UnavailableError):
            c.model_info()
    with Client(tls_server.address, tls=tls(certs, server_name="localhost"), api_key=API_KEYS[0], timeout=10) as c:
        assert c.model_info().name == "mixtral"


def test_plaintext_to_a_tls_server_fails(tls_server: Server) -> None:
    with Client(tls_server.address, api_key=API_KEYS[0], retry=None, timeout=10) as c:
        with pytest.raises(UnavailableError):
            c.model_info()


def test_api_key_missing_wrong_or_from_file_or_environment(tls_server: Server, certs: Certs, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with Client(tls_server.address, tls=tls(certs), timeout=10) as c:
        with pytest.raises(UnauthenticatedError, match="requires an API key"):
            c.model_info()
        with pytest.raises(UnauthenticatedError):
            list(c.generate_stream("x"))
        assert c.health() is HealthStatus.SERVING  # health checks need no key
    with Client(tls_server.address, tls=tls(certs), api_key="not-a-key", timeout=10) as c:
        with pytest.raises(UnauthenticatedError, match="invalid API key"):
            c.tokenize("x")
    key_file = tmp_path / "key"
    key_file.write_text(f"  {API_KEYS[0]}\n")  # one key; whitespace around it is trimmed, as the CLI does
    with Client(tls_server.address, tls=tls(certs), api_key_file=key_file, timeout=10) as c:
        assert c.detokenize([1, 385]) != ""
    monkeypatch.setenv("SWITCHYARD_API_KEY", API_KEYS[1])
    with Client(tls_server.address, tls=tls(certs), timeout=10) as c:
        assert c.expert_load().num_experts == 8
        with c.watch_expert_load(interval=0.1) as loads:
            assert next(loads).num_layers == 2


def test_mutual_tls(mtls_server: Server, certs: Certs) -> None:
    with Client(mtls_server.address, tls=tls(certs, cert_file=certs.client_cert, key_file=certs.client_key),
                timeout=10) as c:
        assert c.generate("The yard master", max_tokens=2).usage.completion_tokens == 2
        assert c.health() is HealthStatus.SERVING
    # Without a client certificate the handshake fails.
    with Client(mtls_server.address, tls=tls(certs), retry=None, timeout=10) as c:
        with pytest.raises(UnavailableError):
            c.model_info()

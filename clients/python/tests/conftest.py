"""Fixtures: the servers the tests call (started once per session where the
tests only read them), certificates, and API keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from credentials import API_KEYS, Certs, make_certs
from server import Server

from switchyard_client import Client


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A plaintext server without keys, shared by the tests of every method."""
    s = Server(tmp_path_factory.mktemp("server") / "serve.log")
    yield s
    assert s.stop() == 0


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with Client(server.address, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's key file: several keys, a comment and a blank line."""
    path = tmp_path_factory.mktemp("keys") / "keys.txt"
    path.write_text(f"# test keys\n{API_KEYS[0]}\n\n  {API_KEYS[1]}  \n")
    return path


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory, certs: Certs, key_file: Path) -> Iterator[Server]:
    """TLS (no client certificates) and API keys."""
    s = Server(tmp_path_factory.mktemp("tls") / "serve.log", f"--tls-cert-file={certs.server_cert}",
               f"--tls-key-file={certs.server_key}", f"--api-key-file={key_file}")
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="session")
def mtls_server(tmp_path_factory: pytest.TempPathFactory, certs: Certs) -> Iterator[Server]:
    """Mutual TLS: clients must present a certificate from the test CA."""
    s = Server(tmp_path_factory.mktemp("mtls") / "serve.log", f"--tls-cert-file={certs.server_cert}",
               f"--tls-key-file={certs.server_key}", f"--tls-client-ca-file={certs.ca}")
    yield s
    assert s.stop() == 0


@pytest.fixture(autouse=True)
def no_api_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A key in the caller's environment would change what the tests send.
    monkeypatch.delenv("SWITCHYARD_API_KEY", raising=False)

"""Fixtures of the KServe v2 / Triton protocol tests: the built server,
started as `switchyard serve` on the built-in demo model, plainly and with
API keys, and switchyard.v1 Generate's text (through switchyard-cli) as the
reference."""

import json
import os
import pathlib
import re
import subprocess
import time

import pytest
import tritonclient.grpc as grpcclient

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("SWITCHYARD_BUILD_DIR", ROOT / "build"))
API_KEY = "kserve-test-key"


class Server:
    """`switchyard serve` on 127.0.0.1 and a free port, until stop()."""

    def __init__(self, log_path, *flags):
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(BUILD / "switchyard"), "serve", "--backend=cpu", "--host=127.0.0.1", "--port=0",
                 "--metrics-port=0", "--kv-cache-mb=16", "--drain-timeout=5s", *flags],
                stdout=subprocess.DEVNULL, stderr=log)
        serving = re.compile(r'serving model "([^"]+)" on (127\.0\.0\.1:\d+)')
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            match = serving.search(self.log())
            if match:
                self.model, self.address = match.group(1), match.group(2)
                self.wait_ready()
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.process.kill()
        self.process.wait()
        pytest.fail(f"switchyard serve did not start:\n{self.log()}")

    def wait_ready(self):
        """Until ServerReady says so, as a readiness probe waits: the
        health watchdog turns SERVING within 50 ms of the "serving" line."""
        with grpcclient.InferenceServerClient(self.address) as c:
            for _ in range(500):
                if c.is_server_ready():
                    return
                time.sleep(0.01)
        pytest.fail(f"switchyard serve never became ready:\n{self.log()}")

    def log(self):
        return pathlib.Path(self.log_path).read_text(errors="replace")

    def stop(self):
        self.process.terminate()
        assert self.process.wait(timeout=20) == 0, self.log()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("plain") / "serve.log")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def keyed_server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("keyed")
    keys = directory / "keys.txt"
    keys.write_text(f"# the tests' key\n{API_KEY}\n")
    s = Server(directory / "serve.log", f"--api-key-file={keys}")
    yield s
    s.stop()


@pytest.fixture
def client(server):
    with grpcclient.InferenceServerClient(server.address) as c:
        yield c


def generate(server, prompt, max_tokens, *flags):
    """switchyard.v1 Generate, greedy and past EOS: the reference result."""
    out = subprocess.run(
        [str(BUILD / "switchyard-cli"), "generate", f"--addr={server.address}", f"--prompt={prompt}",
         f"--max-tokens={max_tokens}", "--temperature=0", "--ignore-eos", "--json", *flags],
        check=True, capture_output=True, text=True, timeout=30)
    return json.loads(out.stdout)

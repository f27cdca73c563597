"""Runs the real `switchyard serve` on loopback for the tests.

Each server gets --port 0 (the port is read from its "serving model ... on
HOST:PORT" log line, the line the C++ tests wait for too; the tests also wait
for "health: SERVING", which may come a moment later), a free metrics port,
the built-in demo model and a 16 MiB KV cache, and one OpenMP thread that
sleeps while idle, so that several servers share 2 cores with the tests.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SERVING = re.compile(r"serving model .* on (127\.0\.0\.1:\d+)")


def binary() -> Path:
    path = Path(os.environ.get("SWITCHYARD_BIN", REPO / "build" / "switchyard"))
    if not path.is_file():
        raise FileNotFoundError(f"no server binary at {path}: build it, or set SWITCHYARD_BIN")
    return path


def free_port() -> int:
    # The port is free when this returns; another process could take it
    # before the server binds it, which on a test machine does not happen.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    def __init__(self, log: Path, *flags: str) -> None:
        self.log = log
        self.metrics_port = free_port()
        args = [str(binary()), "serve", "--backend=cpu", "--host=127.0.0.1", "--port=0", "--kv-cache-mb=16",
                f"--metrics-port={self.metrics_port}", "--drain-timeout=10s", *flags]
        env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive")
        env.pop("SWITCHYARD_API_KEY", None)
        with open(log, "wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        self.address = self._wait_for_address()

    def _wait_for_address(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            log = self.log.read_text(errors="replace")
            m = SERVING.search(log)
            # Health turns SERVING up to one watchdog poll (50 ms) after the
            # "serving" line; the tests expect it at once.
            if m and "health: SERVING" in log:
                return m.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.process.kill()
        raise RuntimeError(f"the server did not start; its log:\n{self.log.read_text(errors='replace')}")

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    def metric_lines(self, name: str) -> list[str]:
        """The Prometheus text on the metrics port, the lines of `name`."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            text = r.read().decode()
        return [line for line in text.splitlines() if line.startswith(name)]

    def metric(self, name: str, **labels: str) -> float:
        """One sample of `name` (0 if absent)."""
        for line in self.metric_lines(name):
            series, value = line.rsplit(" ", 1)
            series_name, _, label_text = series.partition("{")
            found = dict(re.findall(r'(\w+)="([^"]*)"', label_text))
            if series_name == name and found == labels:
                return float(value)
        return 0.0

    def calls(self, rpc: str, code: str) -> float:
        """How many calls of `rpc` the server ended with `code`."""
        return self.calls_by_code(rpc).get(code, 0.0)

    def calls_by_code(self, rpc: str) -> dict[str, float]:
        found: dict[str, float] = {}
        for line in self.metric_lines("switchyard_requests_total"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            if labels.get("rpc") == rpc:
                found[labels["code"]] = float(line.rsplit(" ", 1)[1])
        return found

    def sigterm(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()

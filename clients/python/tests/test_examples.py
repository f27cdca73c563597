"""The README's example and examples/generate.py run against a real server,
so that what users copy first works."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

from server import Server

HERE = Path(__file__).resolve().parents[1]


def test_the_readme_example_runs(server: Server) -> None:
    readme = (HERE / "README.md").read_text()
    example = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(example.replace("127.0.0.1:50051", server.address), {})  # noqa: S102
    text = out.getvalue()
    assert " with a clipboard" in text
    # On a fresh server 0 tokens come from the prefix cache (as the README
    # says); this one may have cached the prompt's first block for another test.
    assert re.search(r"Usage\(prompt_tokens=25, completion_tokens=12, cached_prompt_tokens=(0|16)\)", text)
    assert "top_p must be in (0, 1], got 2" in text


def test_the_example_script_runs(server: Server) -> None:
    run = subprocess.run([sys.executable, str(HERE / "examples" / "generate.py"), server.address],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "MixtralForCausalLM" in run.stdout
    assert "refused: top_p must be in (0, 1], got 2" in run.stdout
    # Its prompt, just sent, comes from the prefix cache (one 16-token block
    # of its 25); with a salt no request had, from nowhere.
    assert "prompt tokens from the prefix cache: 16 of 25; with cache_salt 'tenant-a': 0]" in run.stdout

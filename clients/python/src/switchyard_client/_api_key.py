"""Where the API key comes from, as `switchyard-cli` reads it.

An explicit key, else the one line of a key file, else $SWITCHYARD_API_KEY;
none of them: no key. The file holds exactly one key (the server's
--api-key-file may hold several; a client sends one), surrounding whitespace
trimmed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from switchyard_client.options import StrPath

ENV_VAR = "SWITCHYARD_API_KEY"


def load_api_key(api_key: str | None, api_key_file: StrPath | None,
                 environ: Mapping[str, str] | None = None) -> str | None:
    if api_key is not None and api_key_file is not None:
        raise ValueError("give api_key or api_key_file, not both")
    if api_key is not None:
        key = api_key.strip()
    elif api_key_file is not None:
        key = Path(api_key_file).read_text().strip()
        if not key or "\n" in key:
            raise ValueError(f"API key file {os.fspath(api_key_file)} must hold exactly one key, on one line")
    else:
        key = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    return key or None


def authorization(api_key: str | None) -> tuple[tuple[str, str], ...]:
    """The metadata that carries the key (server/service/api_keys.h)."""
    return (("authorization", f"Bearer {api_key}"),) if api_key else ()

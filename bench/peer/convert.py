#!/usr/bin/env python3
"""Runs llama.cpp's convert_hf_to_gguf.py with one change, for bench/llama_cpp_peer.sh.

    python bench/peer/convert.py LLAMA_CPP_DIR MODEL_DIR --outfile X.gguf --outtype bf16

The converter names the BPE pre-tokenizer by hashing how the tokenizer splits a
test string, and refuses hashes it does not know -- such as that of the
repository's 512-token fixture tokenizer, which splits text like Qwen2's. So the
lookup is replaced by "qwen2"; everything else is the vendored converter as is.
"""
import sys
from pathlib import Path


def main() -> None:
    llama_cpp = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(llama_cpp))  # convert_hf_to_gguf and its conversion/ package
    import convert_hf_to_gguf  # puts the vendored gguf-py on sys.path itself

    # Older converters define the lookup on the module's TextModel, newer ones in conversion/base.py.
    base = sys.modules.get("conversion.base", convert_hf_to_gguf)
    base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "qwen2"

    sys.argv = ["convert_hf_to_gguf.py"] + sys.argv[2:]
    convert_hf_to_gguf.main()


if __name__ == "__main__":
    main()

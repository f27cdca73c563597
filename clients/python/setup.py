"""Generates the gRPC stubs from proto/ at build time.

The stubs are never committed: `build_py` runs grpc_tools.protoc (messages,
service stubs) and mypy-protobuf (their .pyi type stubs) on the repository's
own proto/switchyard/v1/switchyard.proto, so a wheel always matches the API
of the tree it was built from. An sdist carries a copy of the .proto (made
by `sdist` below), because a wheel built from it cannot see ../../proto.

The modules land in switchyard_client/_proto/switchyard/v1/. protoc names
them after the .proto path, so their imports read `from switchyard.v1 import
...`; those are rewritten to the package's own path. The .proto keeps its
canonical name (switchyard/v1/switchyard.proto) in the descriptor pool, so
the stubs coexist with any other copy generated from the same file.
"""

from __future__ import annotations

import re
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
PROTO_NAME = "switchyard/v1/switchyard.proto"
# In an sdist the copy made by `SdistWithProto`; in the repository the source.
PROTO_ROOTS = (HERE / "proto", HERE.parent.parent / "proto")
PACKAGE_PATH = "switchyard_client/_proto"


def proto_root() -> Path:
    for root in PROTO_ROOTS:
        if (root / PROTO_NAME).is_file():
            return root
    raise FileNotFoundError(f"{PROTO_NAME} not found under any of {[str(r) for r in PROTO_ROOTS]}")


def plugin(name: str) -> str:
    """The path of a protoc plugin script installed next to this Python
    (in the isolated build environment that need not be on PATH)."""
    for directory in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(directory) / name
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} (from mypy-protobuf) not found; is mypy-protobuf installed?")
    return found


def generate(out_root: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc  # a build requirement, not a runtime one

    out = out_root / PACKAGE_PATH
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "grpc_tools.protoc",
            f"-I{proto_root()}",
            f"-I{Path(grpc_tools.__file__).parent / '_proto'}",
            f"--plugin=protoc-gen-mypy={plugin('protoc-gen-mypy')}",
            f"--plugin=protoc-gen-mypy_grpc={plugin('protoc-gen-mypy_grpc')}",
            f"--python_out={tmp}",
            f"--grpc_python_out={tmp}",
            f"--mypy_out={tmp}",
            f"--mypy_grpc_out={tmp}",
            PROTO_NAME,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed on {PROTO_NAME}")
        generated = Path(tmp) / "switchyard"
        for path in sorted(generated.rglob("*.py*")):
            target = out / path.relative_to(tmp)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rewrite_imports(path.read_text(), path.name))
    for package in (out, out / "switchyard", out / "switchyard" / "v1"):
        (package / "__init__.py").touch()


def rewrite_imports(text: str, name: str) -> str:
    new, count = re.subn(r"^from switchyard\.v1 import ", "from switchyard_client._proto.switchyard.v1 import ",
                         text, flags=re.MULTILINE)
    # The service modules import the message module; if protoc ever spells
    # that differently, fail the build rather than ship a broken import.
    if "_grpc" in name and count == 0:
        raise RuntimeError(f"no 'from switchyard.v1 import' to rewrite in {name}")
    return new


class BuildPyWithStubs(build_py):
    def run(self) -> None:
        super().run()
        # An editable install imports from src/, so the stubs go there.
        generate(HERE / "src" if self.editable_mode else Path(self.build_lib))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs: list[str] = super().get_outputs(include_bytecode)
        if not self.editable_mode:
            outputs += [str(p) for p in (Path(self.build_lib) / PACKAGE_PATH).rglob("*.py*")]
        return outputs


class SdistWithProto(sdist):
    def make_release_tree(self, base_dir: str, files: Any) -> None:
        super().make_release_tree(base_dir, files)
        source = proto_root() / PROTO_NAME
        target = Path(base_dir) / "proto" / PROTO_NAME
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


setup(cmdclass={"build_py": BuildPyWithStubs, "sdist": SdistWithProto})

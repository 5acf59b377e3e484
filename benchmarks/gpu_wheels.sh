#!/usr/bin/env bash
# Fill .whl/ (git-ignored) with the wheels fleetwise needs on a lent GPU machine that its
# image lacks (the device has Python 3.12 with PyTorch, numpy, scipy, typer, rich, psutil,
# pyyaml, pyarrow and pytest, and no package index): run here, once, before
# benchmarks/gpu_check.sh is run there with `carry: [".whl"]`. The versions are this venv's.
set -euo pipefail
PIP="${PIP:-.venv/bin/python -m pip}"
NEEDED=(pydantic pydantic-core annotated-types typing-inspection typing-extensions
        sqlalchemy alembic mako orjson msgspec isal duckdb)
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
mkdir -p .whl
pins=()
for name in "${NEEDED[@]}"; do
  version=$($PIP show "$name" 2>/dev/null | sed -n 's/^Version: //p')
  [[ -n "$version" ]] || { echo "not installed here: $name (make venv first)" >&2; exit 2; }
  pins+=("$name==$version")
done
$PIP download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
  -d .whl "${pins[@]}"
du -sh .whl

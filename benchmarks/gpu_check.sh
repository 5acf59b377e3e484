#!/usr/bin/env bash
# The GPU validation (issue 16 part 5), for a lent GPU machine: the `gpu` suite, the tests
# marked `gpu`, and a real torch.profiler trace of a training step analysed end to end.
# Prepare here with benchmarks/gpu_wheels.sh, then run there (the device tool) as
#   bash benchmarks/gpu_check.sh        with carry [".whl"], timeout about 540 s
# Everything lands in $OUT (or ./gpu-check); the last lines print the figures to quote:
# bf16 GEMM TFLOP/s and device copy GB/s against the datasheet peaks.
set -uo pipefail
OUT="${OUT:-gpu-check}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
if compgen -G ".whl/*.whl" > /dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 2
  export PYTHONPATH="/tmp/site:$PWD/src"
else
  export PYTHONPATH="$PWD/src"
fi
export FLEETWISE_DB="$OUT/gpu.db" FLEETWISE_WORKDIR="/tmp/fleetwise-work" PYTHONUNBUFFERED=1
status=0
step() { printf '\n== %s\n' "$*"; }

step "the machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit \
  --format=csv | tee "$OUT/nvidia_smi.csv"
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'

step "1/3 the gpu suite"
timeout 300 $PY -m fleetwise bench run gpu --no-progress --tag gpu-check || status=1
$PY -m fleetwise bench list --limit 1 --json > "$OUT/runs.json" || status=1
RUN=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["runs"][0]["id"])' \
  "$OUT/runs.json") || status=1
$PY -m fleetwise bench show "$RUN" --json > "$OUT/gpu_suite.json" || status=1

step "2/3 the tests marked gpu"
timeout 240 $PY -m pytest -q -p no:cacheprovider -m gpu tests 2>&1 | tee "$OUT/gpu_tests.txt"
[[ ${PIPESTATUS[0]} -eq 0 ]] || status=1

step "3/3 a torch.profiler trace of training steps, analysed"
timeout 120 $PY benchmarks/gpu_trace.py "$OUT/trace" || status=1
$PY -m fleetwise trace analyze "$OUT/trace" --json > "$OUT/trace_analyze.json" || status=1
$PY -m fleetwise trace analyze "$OUT/trace" | tee "$OUT/trace_analyze.txt" | head -40
$PY -m fleetwise trace critical-path "$OUT/trace" | tee "$OUT/trace_critical_path.txt"

step "figures"
$PY - "$OUT/gpu_suite.json" <<'PYEOF' || status=1
import json, sys
doc = json.load(open(sys.argv[1]))
for r in doc["results"]:
    s = r.get("summary") or {}
    if r["status"] != "ok" or not s:
        print(f'{r["benchmark"]} {r["metric"]}: {r["status"]} {r.get("error") or ""}'.strip())
        continue
    peak = r.get("peak") or {}
    eff = r.get("efficiency")
    print(
        f'{r["benchmark"]} {r["metric"]} {json.dumps(r["params"], sort_keys=True)}: '
        f'median {s["median"]:.4g} {r["unit"]} [{s["ci_low"]:.4g}, {s["ci_high"]:.4g}]'
        + (f' = {eff:.1%} of {peak.get("value"):.4g} ({peak.get("source")})' if eff else "")
    )
PYEOF
exit $status

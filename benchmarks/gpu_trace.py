"""Record a real Kineto trace of a few training steps, for `fleetwise trace analyze`.

    python benchmarks/gpu_trace.py OUT_DIR [--steps 4] [--device cuda]

A small GPT-style model (fleetwise's own `compute.train_step` model, TinyGPT) trained with AdamW in
bf16 autocast; torch.profiler's schedule waits a step, warms up one and records ``--steps``,
each marked ``ProfilerStep#N`` as HTA and fleetwise expect, and writes one JSON trace per
rank (this one: rank 0) into OUT_DIR. Used by benchmarks/gpu_check.sh on a lent GPU; on a
CPU it still runs (``--device cpu``) but records no kernels.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, schedule

from fleetwise.collect.benchmarks.gpt import GPTConfig, TinyGPT


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)
    cfg = GPTConfig(vocab=8192, seq_len=256, d_model=512, heads=8, layers=6)
    model = TinyGPT(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tokens = torch.randint(0, cfg.vocab, (8, cfg.seq_len + 1), device=device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    path = args.out / "rank0.json"

    def write(prof: profile) -> None:
        prof.export_chrome_trace(str(path))

    with profile(
        activities=activities,
        schedule=schedule(wait=1, warmup=1, active=args.steps, repeat=1),
        on_trace_ready=write,
    ) as prof:
        for _ in range(args.steps + 2):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                logits = model(tokens[:, :-1])
                loss = torch.nn.functional.cross_entropy(
                    logits.reshape(-1, cfg.vocab).float(), tokens[:, 1:].reshape(-1)
                )
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            prof.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    doc = json.loads(path.read_text())
    # One rank of one: fleetwise reads rank and world size from distributedInfo.
    doc.setdefault("distributedInfo", {"rank": 0, "world_size": 1})
    path.write_text(json.dumps(doc))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {len(doc['traceEvents'])} events)")


if __name__ == "__main__":
    main()

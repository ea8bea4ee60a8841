"""Where a decode step's time goes on a GPU: the engine's sampler against `model.generate` on a
real-size random model (`_real_model.py`), one call's worth of output.

    python bench/gpu_profile.py [0.5b|1b|smoke] [--device cuda]

Prints milliseconds per decode step for the engine (`Sampler.sample`) and for `generate` at
1 and 64 rows, then, for one engine request of 1 row, the Python functions by own time
(cProfile) and the device kernels by device time (torch.profiler). Measured on the H200 lent
on 2026-12-04 (see the README, "On a GPU"): the engine's steps took ~60-70 ms at 1 and 256
rows against `generate`'s ~18 ms at 256, which this script is for telling apart (host work,
a synchronisation, or a slow kernel).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch
from _common import sync
from _real_model import SHAPES, build_model_folder

PROMPT = list(range(100, 116))
STEPS = 64


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("size", nargs="?", default="0.5b", choices=sorted(SHAPES))
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    from tinker_local.engine import Sampler, build_base_model
    from tinker_local.engine.hf_models import register_model
    from tinker_local.engine.runtime import configure, default_threads

    configure(args.device, "auto", default_threads())
    name, folder = build_model_folder(args.size, Path(tempfile.mkdtemp()))
    register_model(f"{name}={folder}")
    sampler = Sampler(name)
    model = build_base_model(name)
    device = str(next(model.parameters()).device.type)
    for rows in (1, 64):
        sampler.sample(PROMPT, rows, max_tokens=8, temperature=1.0, seed=0)  # warm-up
        sync()
        t0 = time.perf_counter()
        sampler.sample(PROMPT, rows, max_tokens=STEPS, temperature=1.0, seed=1)
        sync()
        engine_ms = (time.perf_counter() - t0) / STEPS * 1e3
        ids = torch.tensor([PROMPT] * rows, device=device)
        kwargs = dict(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=True, top_k=0)
        with torch.no_grad():
            model.generate(**kwargs, max_new_tokens=8, min_new_tokens=8)  # warm-up
            sync()
            t0 = time.perf_counter()
            model.generate(**kwargs, max_new_tokens=STEPS, min_new_tokens=STEPS)
            sync()
        generate_ms = (time.perf_counter() - t0) / STEPS * 1e3
        print(f"rows={rows}: engine {engine_ms:.1f} ms/step, generate {generate_ms:.1f} ms/step")
        sys.stdout.flush()
    profile = cProfile.Profile()
    profile.enable()
    sampler.sample(PROMPT, 1, max_tokens=STEPS, temperature=1.0, seed=2)
    sync()
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(20)
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        sampler.sample(PROMPT, 1, max_tokens=STEPS, temperature=1.0, seed=3)
        sync()
    key = "self_cuda_time_total" if device == "cuda" else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=25))


if __name__ == "__main__":
    main()

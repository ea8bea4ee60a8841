"""`make bench` in its smoke size: both SDKs, the bare floors and tinker_hl run against the same
local backend and put the same bytes on the wire. (Timings are the benchmark's business, never
asserted here: the machine is shared.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_bench_compares_every_client_on_the_same_payload(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--only", "overhead,encode",
         "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["errors"] == {}

    encode = results["overhead"]["encode"]
    digests = {client: encode[client]["payload_digest"] for client in encode}
    assert set(digests) == {"tinker_hl", "official", "official_aiohttp", "bare_orjson"}
    assert len(set(digests.values())) == 1, digests  # every client sends the same data

    for workload in ("sample", "train"):
        assert set(results["overhead"][workload]) == {
            "tinker_hl",
            "official",
            "official_aiohttp",
            "bare_aiohttp",
        }
    ratios = results["ratios"]
    for key in (
        "sample_client_cpu_vs_official_aiohttp",
        "sample_client_cpu_vs_bare_aiohttp",
        "train_client_cpu_vs_official_aiohttp",
        "encode_vs_official",
    ):
        assert isinstance(ratios[key], float) and ratios[key] > 0, key
    targets = {t["ratio"]: t for t in results["targets"]}
    assert targets["encode_vs_official"]["met"] == (ratios["encode_vs_official"] <= 0.2)
    assert "| target | ratio | value | met |" in (out / "results.md").read_text()

"""The benchmark's step-time statistics (bench/_backend.py, bench/_report.py): the targets'
ratios pair each way with the plain torch loops of the same round."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _backend import ratios_by_round
from _report import compute_ratios


def test_each_round_is_compared_with_its_own_plain_torch() -> None:
    # Round 2 ran under load (everything 2x slower): its ratio is the same as round 1's.
    engine = [[10.0, 10.2, 9.8], [20.0, 20.4, 19.6]]
    peft = [[11.0, 11.0, 11.0], [22.0, 22.0, 22.0]]
    stack = [[12.0, 12.0, 12.5], [24.0, 24.0, 25.0]]
    assert ratios_by_round(stack, engine, peft) == pytest.approx([1.2, 1.2])


def test_plain_torch_is_one_loop_for_all_rounds_the_faster_over_all() -> None:
    # peft is faster over all rounds, engine only in the second: peft is the baseline in both.
    engine = [[30.0], [20.0], [30.0]]
    peft = [[24.0], [24.0], [24.0]]
    stack = [[30.0], [30.0], [30.0]]
    assert ratios_by_round(stack, engine, peft) == pytest.approx([1.25, 1.25, 1.25])


def test_rounds_must_pair_up() -> None:
    with pytest.raises(ValueError, match="pair up"):
        ratios_by_round([[1.0], [1.0]], [[1.0]], [[1.0]])


def test_the_targets_use_the_best_rounds_and_report_the_paired_ratios_beside() -> None:
    step = {
        "engine_step_ms": 24.0,
        "peft_step_ms": 25.0,
        "sequential_step_ms": 30.0,
        "pipelined_step_ms": 27.0,
        "sequential_vs_plain_paired": 1.15,
        "pipelined_vs_plain_paired": 1.08,
    }
    ratios = compute_ratios({"backend": {"step": step}})
    assert ratios["step_time_vs_plain_torch"] == pytest.approx(30.0 / 24.0)
    assert ratios["pipelined_step_time_vs_plain_torch"] == pytest.approx(27.0 / 24.0)
    assert ratios["step_time_vs_plain_torch_paired"] == pytest.approx(1.15)
    assert ratios["pipelined_step_time_vs_plain_torch_paired"] == pytest.approx(1.08)

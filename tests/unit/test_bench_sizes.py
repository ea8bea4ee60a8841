"""`bench/run.py --set FIELD=VALUE`: one size of a run changed, typed as its default, and a
mistake named before anything runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from _common import Sizes


def test_a_set_changes_the_size_it_names_and_reports_it_for_the_workers() -> None:
    sizes = Sizes()
    applied = sizes.override(["rollout_serial_requests=16", "scaling_batches=2,4"])
    assert sizes.rollout_serial_requests == 16
    assert sizes.scaling_batches == [2, 4]
    assert applied == ["rollout_serial_requests=16", "scaling_batches=2,4"]
    assert Sizes().rollout_serial_requests == 32  # the defaults are untouched


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("no_such_size=3", "FIELD one of"),
        ("rollout_rounds", "expected FIELD=VALUE"),
        ("rollout_rounds=three", "rollout_rounds takes integers"),
    ],
)
def test_a_wrong_set_names_what_was_expected(pair: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Sizes().override([pair])

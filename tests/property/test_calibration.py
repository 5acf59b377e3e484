"""Loop-count calibration against a fake clock: every sample lasts at least the minimum
sample time, and the loop count is not wildly more than needed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetwise.collect import timing
from fleetwise.collect.timing import MAX_LOOPS, Timer


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@settings(deadline=None, max_examples=60)
@given(
    call_s=st.floats(min_value=1e-6, max_value=2.0),
    min_sample=st.floats(min_value=1e-4, max_value=0.1),
)
def test_calibrated_sample_reaches_min_time_without_overshooting(
    call_s: float, min_sample: float
) -> None:
    clock = FakeClock()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timing.time, "perf_counter", clock)

        def fn() -> None:
            clock.now += call_s

        timer = Timer("cpu", min_sample)
        loops = timer.calibrate(fn)
        per_call = timer.time(fn)
    assert 1 <= loops <= MAX_LOOPS
    assert per_call == pytest.approx(call_s, rel=1e-6)
    if loops < MAX_LOOPS:
        assert loops * call_s >= min_sample * (1 - 1e-9)
        # Doubling, or a 10% margin over the estimate, bounds the overshoot.
        needed = max(1, min_sample / call_s)
        assert loops <= max(2.0 * needed, 1.1 * needed + 2) + 1


def test_cpu_timer_reports_its_kind() -> None:
    timer = Timer("cpu", 0.001)
    timer.calibrate(lambda: None)
    assert timer.info()["timer"] == "perf_counter" and timer.loops >= 1
    assert Timer("cuda:0", 0.1, flush_l2=True).kind == "cuda-events+l2-flush"

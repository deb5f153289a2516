"""The benchmark's own arithmetic: a wrong percentile would misreport every line."""

from bench.harness import Measurement, percentile, ratio


def test_percentile_is_nearest_rank_and_observed() -> None:
    samples = [0.005, 0.001, 0.003, 0.002, 0.004]
    assert percentile(samples, 0.5) == 0.003
    assert percentile(samples, 0.99) == 0.005
    assert percentile([0.007], 0.5) == 0.007
    assert percentile(list(range(1, 101)), 0.99) == 100  # rank round(99.5) = 100


def test_measurement_rates_and_ratios() -> None:
    m = Measurement("x", operations=500, seconds=2.0, latencies=[0.002] * 10)
    assert m.rate == 250
    assert m.p50_ms == 2.0
    assert ratio(250, 1000) == "0.25"
    assert ratio(1, 0) == "n/a"

"""Sensor units (twin.units): exact affine conversions within a quantity, refusals across quantities."""

from __future__ import annotations

import numpy as np
import pytest

from twin import metrics, units

# (value, unit, the same in the twin's unit of its quantity)
KNOWN = [
    (373.15, "K", 100.0),
    (212.0, "degF", 100.0),
    (-40.0, "degF", -40.0),
    (1.5, "kW", 1500.0),
    (2.0, "MW", 2e6),
    (250.0, "mA", 0.25),
    (1.2, "m/min", 0.02),
    (20.0, "mm/s", 0.02),
    (45.0, "%", 0.45),
    (3.0, "parts/min", 180.0),
    (1.5, "kNm", 1500.0),
    (2.0, "d", 48.0),
    (7200.0, "s", 2.0),
]


@pytest.mark.parametrize("value, unit, twin_value", KNOWN)
def test_known_values_convert_exactly_both_ways(value, unit, twin_value):
    assert units.to_twin(value, unit) == pytest.approx(twin_value, rel=1e-15, abs=1e-12)
    assert units.from_twin(twin_value, unit) == pytest.approx(value, rel=1e-15, abs=1e-12)


@pytest.mark.parametrize("unit", list(units.UNITS))
def test_every_unit_round_trips(unit):
    x = np.linspace(-50.0, 500.0, 7)
    np.testing.assert_allclose(units.to_twin(units.from_twin(x, unit), unit), x, rtol=1e-14, atol=1e-12)


def test_conversion_between_units_of_a_quantity():
    assert units.why_not("degF", "K") is None
    assert units.convert(32.0, "degF", "K") == pytest.approx(273.15)
    assert units.convert(1.0, "m/s", "m/min") == pytest.approx(60.0)
    assert units.convert(5.0, "°C", "degC") == 5.0  # an alias


def test_other_quantities_and_unknown_units_are_refused_with_why():
    assert "power" in units.why_not("kW", "degC") and "temperature" in units.why_not("kW", "degC")
    assert "unknown unit 'furlong'" in units.why_not("furlong", "m/s")


def test_the_run_files_units_are_the_table():
    """What simulate writes (metrics.to_unit) is the same table: K = °C + 273.15, % = 100·fraction."""
    assert metrics.to_unit(np.asarray(20.0), "K") == pytest.approx(293.15)
    assert metrics.to_unit(np.asarray(0.25), "%") == pytest.approx(25.0)
    assert metrics.to_unit(np.asarray(120.0), "parts/min") == pytest.approx(2.0)

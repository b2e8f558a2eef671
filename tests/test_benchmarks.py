"""The benchmark scripts run (small grids, few repeats) and write the JSON that benchmarks/README.md
documents. Timings are not checked: the machine is shared, and speed is judged from the scripts' own
JSON, never from a timed test."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

# One float32 step from fields near 30 °C, JAX against NumPy: a few ulps (1 ulp of 30 °C ≈ 1.9e-6 K)
# from the different order of the additions.
ONE_STEP_F32_K = 1e-5


def run_script(name: str, out: Path, *args: str) -> dict:
    """Run benchmarks/<name>.py in a fresh interpreter (its allocator settings stay out of this one)."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(out.read_text())


def test_thermal_step_benchmark_writes_every_variant(tmp_path):
    result = run_script("thermal_step", tmp_path / "thermal_step.json", "--quick", "--repeats", "2")
    assert result["settings"]["dtype"] == "float32" and result["settings"]["allocator"]
    assert [case["name"] for case in result["cases"]] == ["2d_256x256", "3d_32x32x32"]
    kinds = ("uniform", "heterogeneous")
    for case in result["cases"]:
        want = {f"{impl}_{kind}" for impl in ("jax", "numpy") for kind in kinds}
        want |= {f"jax_{kind}_carry_copy" for kind in kinds}
        assert set(case["variants"]) == want
        for variant in case["variants"].values():
            assert len(variant["times_s"]) == 2 and variant["cell_updates_per_s"] > 0
            assert variant["minor_page_faults_per_call"] >= 0
        for kind in kinds:
            assert case["max_abs_diff_one_step_K"][kind] <= ONE_STEP_F32_K
            # Both JAX loop forms run the same operations in the same order: equal to the bit.
            assert case["max_abs_diff_two_vs_one_field_loop_K"][kind] == 0.0
            assert case["jax_over_numpy"][kind] > 0


@pytest.mark.slow
def test_scene_realtime_benchmark_runs_the_default_scene(tmp_path):
    result = run_script("scene_realtime", tmp_path / "scene_realtime.json", "--duration", "60", "--repeats", "3")
    assert result["scene"] == "gigafactory_cell" and result["duration_s"] == 60.0
    plan = result["plan"]
    assert plan["dt_s"] * plan["steps"] == pytest.approx(60.0)
    assert result["realtime_factor"] > 0 and len(result["wall_s_all"]) == 3


def test_second_run_benchmark_times_cold_warm_and_off_runs(tmp_path):
    result = run_script(
        "second_run", tmp_path / "second_run.json", "--scene", "oven_wall_1d", "--duration", "60", "--repeats", "1"
    )
    assert set(result["wall_s"]) == {"cold", "warm", "off"}
    assert all(len(mode["all"]) == 1 and mode["median"] > 0 for mode in result["wall_s"].values())
    assert result["cache_MB"] > 0  # the cold run wrote the cache the warm one read


@pytest.mark.slow  # 2 min: compiles the default scene's gradient at two run lengths
def test_gradient_benchmark_writes_ratios_and_memory(tmp_path):
    result = run_script("gradient", tmp_path / "gradient.json", "--quick", "--repeats", "1")
    cases = result["line"]["default"]["cases"]
    assert [c["steps"] for c in cases] == [50, 200]
    for c in cases:
        assert c["gradient_over_forward"] == pytest.approx(c["gradient_s"] / c["forward_s"])
        assert c["gradient_scratch_MB"] > 0 and c["compile_s"]["gradient"] > 0
    assert result["line"]["default"]["memory_exponent"] is not None
    assert {"reverse_over_forward_field", "reverse_over_forward_all_coefficients"} <= set(result["stencil"][0])


# The default arm with its load, twin's RNEA against Pinocchio's on 2·10⁴ random states (max |τ| 2.8e3 N·m):
# measured 1.8e-12 N·m in float64 (a few ulps of the largest torque); float32 against float64 7.4e-4 N·m
# (~3 ulps of 2.8e3 in float32).
RNEA_VS_PINOCCHIO_NM = 1e-10
RNEA_FLOAT32_NM = 5e-3


def test_robot_dynamics_benchmark_agrees_with_pinocchio(tmp_path):
    pytest.importorskip("pinocchio")
    result = run_script("robot_dynamics", tmp_path / "robot_dynamics.json", "--quick", "--repeats", "1")
    want = {"twin_float64", "twin_float32", "twin_float64_one_vmap", "pinocchio_1_thread", "pinocchio_2_threads"}
    want |= {"warp_float64_1_thread", "warp_float64_2_threads", "warp_float32_2_threads"}
    assert set(result["variants"]) == want
    assert all(v["samples_per_s"] > 0 and len(v["times_s"]) == 1 for v in result["variants"].values())
    assert result["max_abs_torque_Nm"] > 100.0  # the states load the arm
    assert result["max_abs_diff_Nm"] <= RNEA_VS_PINOCCHIO_NM
    assert result["max_abs_diff_float32_Nm"] <= RNEA_FLOAT32_NM
    assert result["max_abs_diff_warp_Nm"] <= RNEA_VS_PINOCCHIO_NM
    assert result["twin_over_pinocchio_2_threads"] > 0 and result["warp_over_pinocchio_2_threads"] > 0


def test_rainflow_benchmark_counts_as_the_packages_do(tmp_path):
    pytest.importorskip("rainflow")
    pytest.importorskip("fatpack")
    result = run_script("rainflow_counting", tmp_path / "rainflow_counting.json", "--quick", "--repeats", "1")
    assert set(result["variants"]) == {"twin_warp", "twin_jax", "rainflow_package", "fatpack"}
    assert result["warp_equals_rainflow_package"] and result["jax_equals_warp"]
    assert result["fatpack_full_cycles_equal"]
    assert result["cycles_counted"] > 0 and result["warp_over_rainflow_package"] > 0


@pytest.mark.slow  # ~2 min: two recordings and four compiles of the default scene's fit
def test_calibration_benchmark_times_the_fits_gradient_against_its_forward(tmp_path):
    result = run_script("calibration", tmp_path / "calibration.json", "--quick", "--repeats", "2")
    assert [c["hours"] for c in result["lengths"]] == [0.25, 0.5]
    for case in result["lengths"]:
        assert case["gradient_over_forward"] == pytest.approx(case["gradient_s"] / case["forward_s"])
        assert len(case["times_s"]["gradient"]) == 2 and case["gradient_scratch_MB"] > 0
        assert case["unknowns"] == [
            "part_h",
            "oven_1_efficiency",
            "oven_rolling_resistance",
            "part_c_p",
            "robot_a_tool_mass",
        ]
    assert result["memory_exponent"] is not None and "recovery" not in result

"""The CPU thread policy of live inference (passive OpenMP wait, threads per core) and ``ganpaint bench --load``."""

import os
import subprocess
import sys

import torch

from ganpaint.inference import device as dev

from .conftest import REPO


def test_interactive_threads_policy():
    assert dev.interactive_threads(cores=2, passive=True) == 2
    assert dev.interactive_threads(cores=2, passive=False) == 1
    assert dev.interactive_threads(cores=1, passive=False) == 1
    assert dev.interactive_threads(cores=8, passive=False) == 7
    assert 1 <= dev.usable_cores() <= (os.cpu_count() or 1)


def test_passive_wait_reads_the_environment(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "passive")
    assert dev.passive_wait() and dev.interactive_threads(cores=3) == 3
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert not dev.passive_wait() and dev.interactive_threads(cores=3) == 2


def _policy_in_fresh_process(env_value):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_value is not None:
        env["OMP_WAIT_POLICY"] = env_value
    env["PYTHONPATH"] = str(REPO)
    code = ("import os, sys; import ganpaint.cli as c; ok = c.prefer_passive_openmp_wait(); "
            "print(os.environ.get('OMP_WAIT_POLICY'), ok, 'torch' in sys.modules)")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()


def test_cli_sets_passive_wait_before_torch_loads_unless_the_user_chose():
    assert _policy_in_fresh_process(None) == ["PASSIVE", "True", "False"]
    assert _policy_in_fresh_process("ACTIVE") == ["ACTIVE", "False", "False"]


def test_worker_applies_the_thread_policy(fake_models):
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.inference.worker import InferenceWorker

    before = torch.get_num_threads()
    try:
        InferenceWorker(ModelRegistry.default(), device="cpu", threads=1)
        assert torch.get_num_threads() == 1
        InferenceWorker(ModelRegistry.default(), device="cpu", threads=0)  # 0: left alone
        assert torch.get_num_threads() == 1
        InferenceWorker(ModelRegistry.default(), device="cpu")
        assert torch.get_num_threads() == dev.interactive_threads()
    finally:
        torch.set_num_threads(before)


def test_busy_load_starts_and_stops_its_processes():
    from ganpaint.bench import BusyLoad

    load = BusyLoad(2)
    with load:
        procs = list(load._procs)
        assert len(procs) == 2 and all(p.poll() is None for p in procs)
    assert all(p.poll() is not None for p in procs)
    assert load.label == "2 busy processes" and BusyLoad(1).label == "1 busy process"


def test_bench_load_reports_idle_and_loaded_rows(fake_models, monkeypatch):
    from ganpaint import bench
    from ganpaint.engines.registry import ModelRegistry

    monkeypatch.setattr(bench, "bench_cases", lambda task, sizes: [
        ("32 crop", 32, 32, lambda model: bench._with_model(bench._inpaint_request(32, 32, None, 0), model))])
    before = torch.get_num_threads()
    try:
        rows = bench.run_bench(ModelRegistry.default(), "cpu", sizes=[32], models=["fake-inpaint"], repeats=1,
                               warmup=0, progress=lambda line: None, load=True, threads=1)
    finally:
        torch.set_num_threads(before)
    assert [r.load for r in rows] == ["idle", f"{dev.usable_cores()} busy process" + ("es" if dev.usable_cores() > 1 else "")]
    assert all(r.threads == 1 and r.case == "32 crop" for r in rows)
    assert "load" in bench.format_table(rows).splitlines()[0]

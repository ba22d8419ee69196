"""Sweeps: the spec, chunks as populations, resume, failures, Ray local mode, the command."""

import json

import numpy as np
import pytest

from acnotes import sweep
from acnotes.history import History
from acnotes.sweep import Spec

STEPS = 2000
# 1 algorithm x 2 gammas x 2 lrs x 2 seeds = 8 members; chunks of 4 -> 2 chunks
TINY = dict(algos=["a2c"], grid={"gamma": "0.95,0.99", "lr": [1e-3, 3e-3]}, seeds="0-1",
            fixed={"total_steps": STEPS, "n_envs": 4})
TIMES = ("wall_time", "seconds_to_target")  # the only columns that may differ between runs


def same(rows):
    return [{k: v for k, v in r.items() if k not in TIMES} for r in rows]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny sweep run once, in-process, without interruption."""
    out = tmp_path_factory.mktemp("ref")
    res = sweep.run_sweep(Spec.build(**TINY), out, chunk_size=4)
    return out, res


def test_parse_grid_and_seeds():
    assert sweep.parse_grid_option("lr=1e-4:1e-2:3log") == ("lr", [1e-4, 1e-3, 1e-2])
    assert sweep.parse_grid_option("gamma=0.9:0.99:4")[1] == [0.9, 0.93, 0.96, 0.99]
    assert sweep.parse_grid_option("n-steps=2,8") == ("n_steps", [2, 8])
    assert sweep.parse_seeds("0-2,7") == [0, 1, 2, 7]


def test_area_under_curve_by_hand():
    # episodes end at steps 10 and 30 with returns 10 and 30; budget 50, window 100:
    # curve 0 on [0,10), 10 on [10,30), mean 20 on [30,50] -> (0*10 + 10*20 + 20*20) / 50 = 12
    h = History(episode_returns=[10.0, 30.0], episode_lengths=[10, 20], episode_steps=[10, 30])
    assert sweep.area_under_curve(h, 50) == pytest.approx(12.0)


def test_sweep_in_process_matches_single_runs(reference):
    from acnotes.train import preset, train

    out, res = reference
    assert not res.failed and not res.interrupted and len(res.ran) == 2
    rows = sweep.read_results(out)
    assert [r["member"] for r in rows] == list(range(8))
    assert {(r["gamma"], r["lr"], r["seed"]) for r in rows} == {
        (g, lr, s) for g in (0.95, 0.99) for lr in (1e-3, 3e-3) for s in (0, 1)}
    r = rows[5]  # gamma 0.99, lr 1e-3, seed 1, trained inside a population of 4
    _, h = train(preset("a2c", gamma=r["gamma"], lr=r["lr"], seed=r["seed"], total_steps=STEPS, n_envs=4),
                 progress=False)
    assert r["final_return"] == pytest.approx(np.mean(h.episode_returns[-100:]), abs=1e-3)
    assert r["episodes"] == len(h.episode_returns) and r["status"] == "done"
    stored = json.loads((out / "histories" / f"{r['chunk']}.json").read_text())[str(r["member"])]
    assert stored["episode_returns"] == h.episode_returns


def test_resume_after_interrupt_recomputes_nothing_finished(tmp_path, monkeypatch, reference):
    calls, real = [], sweep.run_chunk

    def interrupted_after_first(chunk, threshold):
        calls.append(chunk.id)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(chunk, threshold)

    monkeypatch.setattr(sweep, "run_chunk", interrupted_after_first)
    res = sweep.run_sweep(Spec.build(**TINY), tmp_path, chunk_size=4)
    assert res.interrupted and res.ran == ["chunk-00000"]
    assert [r["member"] for r in sweep.read_results(tmp_path)] == [0, 1, 2, 3]

    calls.clear()
    monkeypatch.setattr(sweep, "run_chunk", lambda ch, t: (calls.append(ch.id), real(ch, t))[1])
    res = sweep.run_sweep(Spec.build(**TINY), tmp_path, chunk_size=4)
    assert calls == ["chunk-00004"] and res.kept == 4
    assert same(sweep.read_results(tmp_path)) == same(sweep.read_results(reference[0]))


def test_a_failing_chunk_is_retried_once_then_reported(tmp_path, monkeypatch):
    calls, real = [], sweep.run_chunk

    def broken_first_chunk(chunk, threshold):
        calls.append(chunk.id)
        if chunk.id == "chunk-00000":
            raise RuntimeError("simulated crash")
        return real(chunk, threshold)

    monkeypatch.setattr(sweep, "run_chunk", broken_first_chunk)
    res = sweep.run_sweep(Spec.build(**TINY), tmp_path, chunk_size=4)
    assert calls.count("chunk-00000") == 2 and calls.count("chunk-00004") == 1
    assert res.failed == {"chunk-00000": "RuntimeError: simulated crash"}
    assert [r["member"] for r in sweep.read_results(tmp_path)] == [4, 5, 6, 7]
    assert json.loads((tmp_path / "sweep.json").read_text())["failed"] == res.failed


@pytest.mark.parametrize("kw, message", [
    (dict(grid={"gama": [0.9]}), "unknown field 'gama'"),
    (dict(grid={"gamma": ""}), "the grid is empty"),
    (dict(grid={"gamma": [0.9, 1.5]}), "grid point a2c: gamma=1.5: gamma must be in [0, 1]"),
    (dict(grid={"lr": "1e-3:1e-1:0log"}), "N >= 1"),
    (dict(algos=["a3c"]), "neither a preset"),
    (dict(seeds="0-2,2"), "distinct"),
])
def test_bad_specs_are_refused_before_anything_runs(tmp_path, monkeypatch, kw, message):
    from test_cli import main

    monkeypatch.setattr(sweep, "run_chunk", lambda *a: pytest.fail("a chunk ran"))
    with pytest.raises(ValueError) as e:
        Spec.build(**{**dict(algos=["a2c"], seeds="0"), **kw})
    assert message in str(e.value)
    args = ["sweep", "--algos", ",".join(kw.get("algos", ["a2c"])), "--seeds", kw.get("seeds", "0"),
            "--out", tmp_path / "out", "--backend", "local"]
    for k, v in kw.get("grid", {}).items():
        args += ["--grid", f"{k}={v if isinstance(v, str) else ','.join(map(str, v))}"]
    rc, _, err = main(*args)
    assert rc == 2 and message in err and not (tmp_path / "out").exists()


def test_the_command_resumes_refuses_another_spec_and_plots(tmp_path, monkeypatch, reference):
    from test_cli import main

    out = tmp_path / "sweep"
    (out / "histories").mkdir(parents=True)  # copy the reference sweep: the command must resume it
    for f in ("sweep.json", "results.csv"):
        (out / f).write_text((reference[0] / f).read_text())
    monkeypatch.setattr(sweep, "run_chunk", lambda *a: pytest.fail("a finished chunk ran again"))
    spec = ["--algos", "a2c", "--grid", "gamma=0.95,0.99", "--grid", "lr=1e-3,3e-3", "--seeds", "0-1",
            "--steps", STEPS, "--set", "n_envs=4", "--out", out, "--backend", "local", "--quiet"]
    rc, stdout, _ = main("sweep", *spec, "--plot")
    assert rc == 0 and "8 done earlier, 0 chunks" in stdout
    assert (out / "heatmap-a2c-gamma-lr.png").stat().st_size > 0 and (out / "sensitivity-a2c-gamma.png").is_file()
    rc, _, err = main("sweep", *spec[:-5], "--seeds", "0-2", "--out", out, "--backend", "local")
    assert rc == 2 and "holds a different sweep" in err and "seeds" in err
    # the same spec from a YAML file is the same sweep; with the grid in another order it is not
    text = "algos: [a2c]\ngrid:\n  gamma: [0.95, 0.99]\n  lr: 1e-3,3e-3\nseeds: 0-1\n" \
           f"fixed: {{total_steps: {STEPS}, n_envs: 4}}\n"
    (tmp_path / "spec.yaml").write_text(text)
    rc, stdout, _ = main("sweep", "--spec", tmp_path / "spec.yaml", "--out", out)  # default backend:
    assert rc == 0 and "8 done earlier, 0 chunks" in stdout  # nothing to run, so Ray is not started
    assert "Ray " not in stdout
    swapped = text.replace("  gamma: [0.95, 0.99]\n", "").replace("seeds:", "  gamma: [0.95, 0.99]\nseeds:")
    (tmp_path / "swapped.yaml").write_text(swapped)
    rc, _, err = main("sweep", "--spec", tmp_path / "swapped.yaml", "--out", out, "--backend", "local")
    assert rc == 2 and "holds a different sweep" in err and "grid" in err


def test_ray_that_cannot_start_falls_back_to_this_process_unless_asked_for(tmp_path, monkeypatch):
    from test_cli import main

    def broken(**kw):
        raise sweep.RayStartError("could not start Ray on this machine: simulated")

    monkeypatch.setattr(sweep, "ray_available", lambda: True)
    monkeypatch.setattr(sweep, "RayPool", broken)
    spec = ["--algos", "a2c", "--seeds", "0-1", "--steps", 500, "--set", "n_envs=2", "--quiet"]
    rc, _, err = main("sweep", *spec, "--out", tmp_path / "b", "--backend", "ray")
    assert rc == 1 and "simulated" in err and not sweep.read_results(tmp_path / "b")
    rc, _, err = main("sweep", *spec, "--out", tmp_path / "a")
    assert rc == 0 and "running in this process instead" in err and len(sweep.read_results(tmp_path / "a")) == 2


@pytest.mark.slow
def test_sweep_through_ray_local_mode(tmp_path, reference):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'acnotes[cluster]')")
    pool = sweep.RayPool(num_cpus=2)
    try:
        res = sweep.run_sweep(Spec.build(**TINY), tmp_path, chunk_size=4, backend="ray", pool=pool)
    finally:
        pool.close()
    assert sorted(res.ran) == ["chunk-00000", "chunk-00004"] and not res.failed
    assert same(sweep.read_results(tmp_path)) == same(sweep.read_results(reference[0]))


def test_plots_average_over_seeds_and_take_none_as_a_value():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from acnotes.plots import sweep_heatmap, sweep_sensitivity

    rows = [dict(preset="a2c", lr=lr, max_grad_norm=c, seed=s, final_return=100 * lr * 1000 + s + (c or 0))
            for lr in (1e-3, 2e-3) for c in (0.5, None) for s in (0, 1)]
    fig = sweep_heatmap(rows, "lr", "max_grad_norm", "final_return")
    # rows: y sorted by str (0.5 before None); cell = mean over seeds 0 and 1 (+0.5)
    want = [[100 + 0.5 + 0.5, 200 + 0.5 + 0.5], [100 + 0.5, 200 + 0.5]]
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), want)
    fig2 = sweep_sensitivity(rows, "max_grad_norm", "final_return", lines="lr")
    assert [t.get_text() for t in fig2.axes[0].get_xticklabels()] == ["0.5", "None"]
    np.testing.assert_allclose(fig2.axes[0].lines[0].get_ydata(), [101.0, 100.5])
    plt.close("all")


def test_a_chunk_too_large_for_memory_is_named_with_the_option_to_change(monkeypatch):
    """The sweep uses the package's one memory check (population_checks.check_memory), naming its chunk."""
    from acnotes import population_checks, sweep
    spec = sweep.Spec.build(algos=["a2c"], seeds="0-2", fixed={"total_steps": 100})
    chunks = sweep.plan(spec, chunk_size=3)
    monkeypatch.setattr(population_checks, "_available_memory", lambda: 2**20)
    with pytest.raises(ValueError, match=r"chunk-00000 of 3 members needs about .*--chunk-size \(now 3\)"):
        sweep._check_chunk_memory(chunks, 3)
    monkeypatch.setattr(population_checks, "_available_memory", lambda: None)
    sweep._check_chunk_memory(chunks, 3)      # unknown free memory: no refusal


def test_a_sweep_never_writes_through_a_link_in_its_folder(tmp_path):
    """A review found a resumed sweep wrote its histories through a linked `histories` folder."""
    spec = Spec.build(algos=["a2c"], seeds="0", fixed={"total_steps": 100})
    out = tmp_path / "sweep"
    sweep.prepare(spec, out)
    mine = tmp_path / "mine"
    mine.mkdir()
    (out / "histories").symlink_to(mine)
    with pytest.raises(ValueError, match="symbolic links"):
        sweep.prepare(spec, out)
    assert list(mine.iterdir()) == []


def test_plot_never_replaces_a_png_the_sweep_did_not_write(tmp_path, reference):
    from test_cli import main

    out = tmp_path / "sweep"
    (out / "histories").mkdir(parents=True)
    for f in ("sweep.json", "results.csv"):
        (out / f).write_text((reference[0] / f).read_text())
    mine = b"\x89PNG my own annotated figure"
    (out / "heatmap-a2c-gamma-lr.png").write_bytes(mine)  # the very name --plot would write
    spec = ["sweep", "--algos", "a2c", "--grid", "gamma=0.95,0.99", "--grid", "lr=1e-3,3e-3", "--seeds", "0-1",
            "--steps", STEPS, "--set", "n_envs=4", "--out", out, "--backend", "local", "--quiet", "--plot"]
    meta = json.loads((out / "sweep.json").read_text())
    (out / "sweep.json").write_text(json.dumps({**meta, "plots": []}))  # a sweep that has written no plot yet
    rc, _, err = main(*spec)
    assert rc == 2 and "heatmap-a2c-gamma-lr.png" in err and "not from a sweep" in err
    assert (out / "heatmap-a2c-gamma-lr.png").read_bytes() == mine
    (out / "heatmap-a2c-gamma-lr.png").unlink()  # moved away: the sweep plots, lists its PNGs, and may replace them
    rc, _, _ = main(*spec)
    assert rc == 0 and "heatmap-a2c-gamma-lr.png" in json.loads((out / "sweep.json").read_text())["plots"]
    rc, _, _ = main(*spec)
    assert rc == 0 and (out / "heatmap-a2c-gamma-lr.png").read_bytes()[:4] == b"\x89PNG"


def test_a_results_table_from_before_env_reads_as_cartpole():
    """A results.csv written before Config had ``env`` and ``log_std_init`` (the sweep shipped in
    acnotes/data, or a sweep to resume) is read, with those two at their defaults; any other
    set of columns is still refused."""
    from acnotes.config import Config
    from acnotes.sweep import _EARLIER_COLUMNS, _read_rows

    row = {"member": "0", "chunk": "chunk-00000", "preset": "a2c", **{k: str(v) for k, v in Config().to_dict().items()},
           "status": "done"}
    text = ",".join(_EARLIER_COLUMNS) + "\n" + ",".join(row.get(c, "") for c in _EARLIER_COLUMNS) + "\n"
    (r,) = _read_rows(text, "old.csv")
    assert "env" not in _EARLIER_COLUMNS and r["env"] == "CartPole-v1" and r["log_std_init"] == -0.5
    assert r["algo"] == "a2c" and r["member"] == 0
    with pytest.raises(ValueError, match="old.csv does not have the columns"):
        _read_rows(text.replace("algo,", "algorithm,", 1), "old.csv")


def test_a_pendulum_sweep_scores_against_pendulums_threshold(tmp_path):
    """On Pendulum-v1 the solved threshold is -200 (history.PENDULUM_SOLVED), not CartPole's 475:
    in sweep.json, in --stop-at-target's target, and on the plot's return axis; a sweep over both
    envs needs --threshold."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from acnotes.history import PENDULUM_SOLVED
    from test_cli import main

    out = tmp_path / "pendulum"
    rc, _, err = main("sweep", "--algos", "a2c-pendulum", "--grid", "lr=1e-3,2e-3", "--seeds", "0", "--steps", 1024,
                      "--set", "n_envs=2", "--stop-at-target", "--out", out, "--backend", "local", "--quiet", "--plot")
    assert rc == 0, err
    assert json.loads((out / "sweep.json").read_text())["spec"]["threshold"] == PENDULUM_SOLVED == -200
    rows = sweep.read_results(out)
    assert [r["target_return"] for r in rows] == [-200, -200] and all(r["final_return"] < 0 for r in rows)
    from acnotes.plots import sweep_sensitivity
    ax = sweep_sensitivity(rows, "lr", "final_return").axes[0]
    lo, hi = ax.get_ylim()
    assert lo <= -1000 and 0 <= hi < 100                      # the returns' range, not CartPole's [0, 500]
    assert [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == ":"] == [-200]
    plt.close("all")
    rc, _, err = main("sweep", "--algos", "a2c,a2c-pendulum", "--steps", 1024, "--out", tmp_path / "both")
    assert rc == 2 and "--threshold" in err and "Pendulum-v1" in err and not (tmp_path / "both").exists()

"""`python -m acnotes variance`: tables, plots, and one-line errors for bad input."""

import csv
import json
import os
import subprocess
import sys

import pytest

from acnotes.__main__ import main
from acnotes.variance import ESTIMATOR_NAMES

ENV = {**os.environ, "MPLBACKEND": "Agg"}
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args):
    """As a user would: a subprocess (the import, the __main__ hook, the exit code). Only for the
    process itself; the other tests call ``main`` in-process (a subprocess imports torch again)."""
    return subprocess.run([sys.executable, "-m", "acnotes", "variance", *args], capture_output=True,
                          text=True, env=ENV, timeout=300)


def run_here(*args, capsys):
    """``python -m acnotes variance ARGS`` in this process: (exit code, stdout, stderr)."""
    try:
        rc = main(["variance", *args])
    except SystemExit as e:
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_out_dir_gets_csv_table_and_png_plot_for_all_six_estimators(tmp_path, capsys):
    rc, stdout, stderr = run_here("--target", "two_state", "-K", "20", "-B", "2", "--seed", "1",
                                  "--out", str(tmp_path / "v"), capsys=capsys)
    assert rc == 0, stderr
    rows = list(csv.DictReader(open(tmp_path / "v" / "variance.csv")))
    assert [r["estimator"] for r in rows] == list(ESTIMATOR_NAMES)
    assert all(r["K"] == "20" and r["B"] == "2" and r["env"] == "two-state" for r in rows)
    assert (tmp_path / "v" / "variance.png").read_bytes()[:8] == PNG
    assert "VarianceTable: two-state" in stdout and "variance.csv" in stdout and "variance.png" in stdout


def test_sweep_to_json_and_png(tmp_path, capsys):
    table, plot = tmp_path / "t.json", tmp_path / "sub" / "p.png"
    assert main(["variance", "--target", "short_corridor", "--estimators", "reinforce", "tdac",
                 "-K", "10", "--sweep", "batch", "--values", "1", "4", "--gamma", "0.8",
                 "--table", str(table), "--plot", str(plot)]) == 0
    data = json.loads(table.read_text())
    assert [(r["estimator"], r["B"]) for r in data["rows"]] == [
        ("reinforce", 1), ("tdac", 1), ("reinforce", 4), ("tdac", 4)]
    assert all(r["gamma"] == 0.8 and r["K"] == 10 for r in data["rows"])
    assert data["meta"]["sweep"] == "B" and plot.read_bytes()[:8] == PNG
    assert str(table) in capsys.readouterr().out


@pytest.mark.parametrize("sweep, values, key, want", [
    ("gamma", ["0.5", "0.9"], "gamma", [0.5, 0.9]),
    ("lambda", ["0", "1"], "lam", [0.0, 1.0]),
])
def test_sweeps_of_gamma_and_lambda(tmp_path, sweep, values, key, want):
    table = tmp_path / "t.csv"
    assert main(["variance", "--target", "random_mdp", "--estimators", "gae", "-K", "5", "-B", "2",
                 "--policy-seed", "3", "--critic-noise", "0.2", "--sweep", sweep, "--values", *values,
                 "--table", str(table)]) == 0
    rows = list(csv.DictReader(open(table)))
    assert [float(r[key]) for r in rows] == want and all(r["critic_noise"] == "0.2" for r in rows)


def test_cartpole_initial_policy(tmp_path, capsys):
    rc, _, stderr = run_here("--target", "cartpole", "--estimators", "reinforce", "a2c", "-K", "3", "-B", "1",
                             "--table", str(tmp_path / "c.json"), capsys=capsys)
    assert rc == 0, stderr
    rows = json.loads((tmp_path / "c.json").read_text())["rows"]
    assert [r["estimator"] for r in rows] == ["reinforce", "a2c"] and rows[0]["env"] == "CartPole-v1"


def test_every_option_has_help():
    p = run("--help")
    assert p.returncode == 0
    for opt in ("--target", "--estimators", "-K", "-B", "--gamma", "--lam", "--sweep", "--values",
                "--seed", "--out", "--table", "--plot", "--critic-noise"):
        assert opt in p.stdout


BAD = [
    (["--estimators", "reinforce", "foo"], "invalid choice: 'foo'"),
    (["-K", "0"], "argument -K: expected an integer in [2, 100000]"),
    (["-K", "1"], "argument -K: expected an integer in [2, 100000] (one estimate has no variance; the bound keeps memory finite), got '1'"),
    (["-B", "two"], "argument -B: expected an integer in [1, 10000]"),
    (["--gamma", "1.5"], "argument --gamma: expected a number in [0, 1]"),
    (["--lam", "-0.1"], "argument --lam: expected a number in [0, 1]"),
    (["--critic-noise", "nan"], "argument --critic-noise: expected a finite number >= 0"),
    (["--target", "mountaincar"], "invalid choice: 'mountaincar'"),
    (["--table", "t.txt"], "--table must end in .csv or .json"),
    (["--plot", "p.jpg"], "--plot must end in .png"),
    (["--values", "1", "2"], "--values needs --sweep"),
    (["--sweep", "batch", "--values", "4", "0"], "--values for --sweep batch: expected an integer in [1, 10000]"),
    (["--sweep", "gamma", "--values", "0.9", "2"], "--values for --sweep gamma: expected a number in [0, 1]"),
    (["--target", "cartpole", "--critic-noise", "0.1"], "--critic-noise is for tabular targets only"),
    (["--train-steps", "100"], "--agent and --train-steps are for --target cartpole only"),
    (["--target", "cartpole", "--estimators", "qac", "-K", "2", "-B", "1"], "need a Q critic"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_clear_line_and_exit_code_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["variance", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing written


def test_bad_input_in_a_subprocess_has_no_traceback():
    p = run("-K", "-3")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("python -m acnotes variance: error: argument -K")


def test_cartpole_target_refuses_a_pendulum_agent_and_preset(tmp_path, capsys):
    import acnotes as acn

    agent, _ = acn.train.train(acn.train.preset("gae-pendulum", total_steps=512), progress=False)
    agent.save(tmp_path / "p")
    with pytest.raises(SystemExit) as stop:
        main(["variance", "--target", "cartpole", "--agent", str(tmp_path / "p")])
    assert stop.value.code == 2 and "an agent for Pendulum-v1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["variance", "--target", "cartpole", "--preset", "gae-pendulum"])
    assert stop.value.code == 2 and "--preset" in capsys.readouterr().err

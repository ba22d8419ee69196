"""Hidden tests: the part of a graded cell that the student never sees and cannot import.

Each checker cell of the series carries, after the public check, an nbgrader hidden-test
region::

    acn.checks.reward_to_go(reward_to_go)
    ### BEGIN HIDDEN TESTS
    ...   # inputs and the expected results, as literals
    ### END HIDDEN TESTS

``generate_assignment`` and ``python -m acnotes exercises`` delete the region from the
student's notebook; ``autograde`` and ``python -m acnotes check`` put it back (the checker
cells are locked: the instructor's version is what runs). The expected results are numbers
computed here once from the package's reference implementation and written into the cell as
literals, so grading does not depend on anything the student's kernel can import or change:
the code of the region uses only ``torch`` (imported afresh, under a private name) and
Python syntax. It prints nothing, so the series notebooks' stored outputs stay as they are.

:func:`hidden_region` writes the region of one checker; :func:`update_notebook` rewrites the
regions of a notebook; ``tests/test_hidden.py`` checks that the notebooks hold the regions
this module writes today.

What is compared: for the checkers built on the engine (corridor_value, reward_to_go,
reinforce_loss, critic_loss, a2c_loss, td_error, gae), every returned tensor on the checker's
small cases, and for each returned tensor that carries gradient, its gradient with respect to
each input the checker marks (so a target that is not detached fails here too). For
``baseline_lemma_mc`` (a sampler), a one-hot policy (exact) and a mean of many draws within
five standard errors of the exact expectation. For notebook 5's measurements
(episodes_needed, relative_variance), the one number each case returns (a Python number or a
one-element tensor; for episodes_needed, a whole number). For ``td_actor_critic`` (notebook
9's whole loop), scripted runs (an env class in the cell that plays fixed observations,
rewards and episode ends and records the actions) with linear networks and SGD: the number
of steps, the episode returns, the critic's weights after the updates, and, for the runs of
one update, the actor's weights (one term per step and action, summed over the actions the
student's loop took), each within 1e-6; then acting, as the public check does: under
pi(right | s) = 0.3 with step sizes 0, the share of *right* over 400 steps within 0.1 of 0.3
(so a loop that takes the likeliest action, or always the same one, fails here too). The experiment answers
(``batch_size_experiment``, ``gamma_experiment``) have none: no notebook asks them in a
graded cell.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import torch

__all__ = ["HIDDEN_CHECKERS", "hidden_region", "update_notebook"]

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
HIDDEN_CHECKERS = ("corridor_value", "reward_to_go", "reinforce_loss", "critic_loss", "a2c_loss",
                   "td_error", "gae", "baseline_lemma_mc", "episodes_needed", "relative_variance",
                   "td_actor_critic")
_NUMBER_CHECKERS = {"episodes_needed": True, "relative_variance": False}   # name: whole number?
_MAX_NUMEL = 64   # cases with larger tensors are left to the public check (cells stay short)


def _spec(name: str):
    """The checker's _Spec, caught on its way to the engine (the checker is not run)."""
    from . import __dict__ as checks
    fn = checks[name]
    module = sys.modules[fn.__module__]
    caught = []
    original = module._run
    module._run = lambda spec, student: caught.append(spec)
    try:
        fn(None)
    finally:
        module._run = original
    return caught[0]


def _literal(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).replace("torch.", "")
        if value.dtype.is_floating_point:
            data = repr(_floats(value.double().tolist()))
        else:
            data = repr(value.tolist()).replace("True", "1").replace("False", "0")
        return f"('{dtype}', {data})"
    return repr(value)


def _floats(v):
    if isinstance(v, list):
        return [_floats(u) for u in v]
    return float(f"{v:.10g}")


def _results(fn, case) -> list:
    """[(output index, value), (output index, leaf name, gradient)] of ``fn`` on a case."""
    args, leaves = case.fresh()
    out = fn(*args)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    res = []
    for k, o in enumerate(outs):
        o = torch.as_tensor(o)
        res.append((k, None, o.detach()))
        if o.requires_grad:
            for name, leaf in leaves.items():
                (g,) = torch.autograd.grad(o, leaf, retain_graph=True, allow_unused=True)
                res.append((k, name, torch.zeros_like(leaf) if g is None else g))
    return res


_ENGINE_CODE = '''\
def _hidden_test(fn, cases, T=_hidden_torch, TOL=_hidden_tol):
    def make(x):
        return T.tensor(x[1], dtype=getattr(T, x[0])) if type(x) is tuple else x
    for number, (inputs, grad, want) in enumerate(cases, 1):
        args = [make(x) for x in inputs]
        for i in grad:
            args[i].requires_grad_(True)
        out = fn(*args)
        outs = list(out) if type(out) in (tuple, list) else [out]
        assert len(outs) == len({k for k, _, _ in want}), f"hidden test {number}: {len(outs)} results, expected {len({k for k, _, _ in want})}"
        for k, leaf, expected in want:
            got = T.as_tensor(outs[k])
            if leaf is not None:
                assert got.requires_grad, f"hidden test {number}: result {k + 1} carries no gradient"
                (got,) = T.autograd.grad(got, args[leaf], retain_graph=True, allow_unused=True)
                got = T.zeros_like(args[leaf]) if got is None else got
            expected = T.tensor(expected, dtype=T.float64)
            ok = got.shape == expected.shape and T.allclose(got.detach().double(), expected, rtol=TOL[0], atol=TOL[1])
            assert ok, f"hidden test {number}: result {k + 1}{'' if leaf is None else ', gradient ' + str(leaf)} differs"
'''

_SAMPLER_CODE = '''\
def _hidden_test(fn, cases, T=_hidden_torch):
    for number, (pi, score, b, n, seed, mean, sd, exact) in enumerate(cases, 1):
        pi, score = T.tensor(pi, dtype=T.float64), T.tensor(score, dtype=T.float64)
        got = T.as_tensor(fn(pi, score, b, n, T.Generator().manual_seed(seed))).double()
        assert got.shape == score.shape[1:], f"hidden test {number}: shape {list(got.shape)}"
        mean, sd = T.tensor(mean, dtype=T.float64), T.tensor(sd, dtype=T.float64)
        tol = 1e-9 if exact else 5 * sd / n ** 0.5 + 1e-12
        assert ((got - mean).abs() <= tol).all(), f"hidden test {number}: the mean is off"
'''


_NUMBER_CODE = '''\
def _hidden_test(fn, cases, whole, T=_hidden_torch, TOL=_hidden_tol):
    for number, (inputs, want) in enumerate(cases, 1):
        got = fn(*[T.tensor(x[1], dtype=getattr(T, x[0])) if type(x) is tuple else x for x in inputs])
        if isinstance(got, T.Tensor):
            assert got.numel() == 1, f"hidden test {number}: {got.numel()} numbers, expected one"
            got = got.item()
        assert not isinstance(got, (bool, str)), f"hidden test {number}: not a number"
        got = float(got)
        assert not whole or got == int(got), f"hidden test {number}: not a whole number"
        assert abs(got - want) <= TOL[1] + TOL[0] * abs(want), f"hidden test {number}: the number differs"
'''


_LOOP_CODE = '''\
import numpy as _hidden_np
class _HiddenEnv:
    def __init__(self, obs, next_obs, rewards, ends):
        self.script, self.k, self.running, self.actions = (obs, next_obs, rewards, ends), 0, False, []
    def reset(self, *, seed=None, options=None):
        assert not self.running, "hidden test: env.reset() in the middle of an episode"
        self.running = True
        return _hidden_np.array(self.script[0][min(self.k, len(self.script[0]) - 1)], dtype=_hidden_np.float32), {}
    def step(self, action):
        obs, next_obs, rewards, ends = self.script
        assert self.running and self.k < len(rewards), "hidden test: env.step() after an episode ended, or beyond total_steps"
        assert int(action) in (0, 1) and int(action) == action, "hidden test: the action is not 0 or 1"
        self.actions.append(int(action))
        k, self.k = self.k, self.k + 1
        self.running = ends[k] == 0
        return _hidden_np.array(next_obs[k], dtype=_hidden_np.float32), rewards[k], ends[k] == 1, ends[k] == 2, {}
def _hidden_test(fn, cases, T=_hidden_torch, Env=_HiddenEnv, TOL=_hidden_tol):
    def flat(m):
        return T.cat([p.detach().reshape(-1) for p in m.parameters()]).double()
    for number, (gamma, n_steps, obs, next_obs, rewards, ends, returns, lrs, actor0, critic0, terms, critic1) in enumerate(cases, 1):
        env = Env(obs, next_obs, rewards, ends)
        actor, critic = T.nn.Linear(len(obs[0]), 2), T.nn.Linear(len(obs[0]), 1)
        with T.no_grad():
            T.nn.utils.vector_to_parameters(T.tensor(actor0), actor.parameters())
            T.nn.utils.vector_to_parameters(T.tensor(critic0), critic.parameters())
        with T.random.fork_rng(devices=[]):
            got = fn(env, actor, critic, T.optim.SGD(actor.parameters(), lr=lrs[0]),
                     T.optim.SGD(critic.parameters(), lr=lrs[1]), gamma, n_steps, len(rewards))
        assert env.k == len(rewards), f"hidden test {number}: {env.k} steps, expected {len(rewards)}"
        got = [float(x) for x in got]
        assert len(got) == len(returns) and all(abs(a - b) <= 1e-4 for a, b in zip(got, returns)), f"hidden test {number}: the episode returns differ"
        assert (flat(critic) - T.tensor(critic1, dtype=T.float64)).abs().max() <= TOL, f"hidden test {number}: the critic's weights differ"
        if terms is not None:
            want = T.tensor(actor0, dtype=T.float64) + sum(T.tensor(terms[t][a], dtype=T.float64) for t, a in enumerate(env.actions))
            assert (flat(actor) - want).abs().max() <= TOL, f"hidden test {number}: the actor's weights differ"
'''


_ACTING_CODE = '''\
class _HiddenActEnv:
    def __init__(self, steps):
        self.steps, self.k, self.actions = steps, 0, []
    def reset(self, *, seed=None, options=None):
        return _hidden_np.zeros(3, dtype=_hidden_np.float32), {}
    def step(self, action):
        assert self.k < self.steps, "hidden test: env.step() beyond total_steps"
        self.actions.append(int(action))
        self.k += 1
        return _hidden_np.zeros(3, dtype=_hidden_np.float32), 0.0, False, False, {}
def _hidden_acting(fn, steps, p_right, tol, seed, T=_hidden_torch, Env=_HiddenActEnv):
    env, actor, critic = Env(steps), T.nn.Linear(3, 2), T.nn.Linear(3, 1)
    with T.no_grad():
        actor.weight.zero_()
        actor.bias.copy_(T.tensor([0.0, float(_hidden_np.log(p_right / (1 - p_right)))]))
    with T.random.fork_rng(devices=[]):
        T.manual_seed(seed)
        fn(env, actor, critic, T.optim.SGD(actor.parameters(), lr=0.0),
           T.optim.SGD(critic.parameters(), lr=0.0), 0.9, 8, steps)
    share = sum(env.actions) / max(len(env.actions), 1)
    assert abs(share - p_right) <= tol, f"hidden test: right in {share:.0%} of the steps under pi(right | s) = {p_right}: sample the actions from pi"
'''


def _loop_region(name: str) -> str:
    """The student's whole loop on scripted runs (acnotes.checks.loop_script._hidden_cases),
    then acting: under a fixed policy with pi(right | s) = ACT_P_RIGHT (step sizes 0) the
    share of *right* over ACT_STEPS steps within ACT_TOL of it, as the public check asks."""
    from .loop import ACT_P_RIGHT, ACT_SEED, ACT_STEPS, ACT_TOL, TOL
    from .loop_script import _hidden_cases

    rows = [f"    {_floats_deep(case)!r}," for case in _hidden_cases()]
    return (f"_hidden_tol = {TOL!r}\n" + _LOOP_CODE + "_hidden_test(" + name + ", [\n" + "\n".join(rows)
            + "\n])\n" + _ACTING_CODE
            + f"_hidden_acting({name}, {ACT_STEPS}, {ACT_P_RIGHT}, {ACT_TOL}, {ACT_SEED})\n"
            + "del _hidden_tol, _HiddenEnv, _HiddenActEnv, _hidden_acting, _hidden_np\n")


def _floats_deep(v):
    """Every float of a nested tuple/list rounded to 10 significant digits (ints, None kept)."""
    if isinstance(v, (list, tuple)):
        return type(v)(_floats_deep(u) for u in v)
    return float(f"{v:.10g}") if isinstance(v, float) else v


def _cases(spec) -> list:
    """The checker's cases with tensors small enough to be written into the cell."""
    return [case for case in spec.cases
            if not any(isinstance(v, torch.Tensor) and v.numel() > _MAX_NUMEL for v in case.inputs.values())]


def _number_region(name: str) -> str:
    """One number per case (the checkers of notebook 5's measurements)."""
    spec = _spec(name)
    rows = []
    for case in _cases(spec):
        want = float(spec.reference(*case.fresh()[0]))
        inputs = ", ".join(_literal(v) for v in case.inputs.values())
        rows.append(f"    ([{inputs}], {_floats(want)!r}),")
    return (f"_hidden_tol = ({spec.rtol!r}, {spec.atol!r})\n" + _NUMBER_CODE + "_hidden_test(" + name
            + ", [\n" + "\n".join(rows) + f"\n], {_NUMBER_CHECKERS[name]!r})\ndel _hidden_tol\n")


def _engine_region(name: str) -> str:
    spec = _spec(name)
    cases = []
    for case in _cases(spec):
        names = list(case.inputs)
        want = [(k, None if leaf is None else names.index(leaf), _floats(value.double().tolist()))
                for k, leaf, value in _results(spec.reference, case)]
        inputs = ", ".join(_literal(v) for v in case.inputs.values())
        grad = tuple(names.index(g) for g in case.grad)
        cases.append(f"    ([{inputs}],\n     {grad!r},\n     {want!r}),")
    consts = f"_hidden_tol = ({spec.rtol!r}, {spec.atol!r})\n"
    return (consts + _ENGINE_CODE + "_hidden_test(" + name + ", [\n" + "\n".join(cases) + "\n])\n"
            "del _hidden_tol\n")


def _sampler_region(name: str) -> str:
    g = torch.Generator().manual_seed(2026)
    rows = []
    for pi, d, b, n, exact in (([0.0, 1.0, 0.0], 3, 2.5, 50, True),
                               ([0.2, 0.3, 0.5], 4, 1.7, 20000, False),
                               ([0.6, 0.1, 0.2, 0.1], 2, -3.0, 20000, False)):
        p = torch.tensor(pi, dtype=torch.float64)
        score = torch.round(torch.randn(len(pi), d, generator=g, dtype=torch.float64) * 100) / 100
        x = score * b
        mean = (p[:, None] * x).sum(0)
        sd = ((p[:, None] * x ** 2).sum(0) - mean ** 2).clamp(min=0).sqrt()
        rows.append(f"    ({pi!r}, {_floats(score.tolist())!r}, {b!r}, {n!r}, {7 + len(rows)}, "
                    f"{_floats(mean.tolist())!r}, {_floats(sd.tolist())!r}, {exact!r}),")
    return _SAMPLER_CODE + "_hidden_test(" + name + ", [\n" + "\n".join(rows) + "\n])\n"


def hidden_region(checker: str, student_fn: str) -> str:
    """The hidden-test region (markers included) of a checker cell that checks
    ``student_fn`` with ``acn.checks.<checker>``."""
    if checker == "baseline_lemma_mc":
        body = _sampler_region(student_fn)
    elif checker == "td_actor_critic":
        body = _loop_region(student_fn)
    elif checker in _NUMBER_CHECKERS:
        body = _number_region(student_fn)
    else:
        body = _engine_region(student_fn)
    text = ("import torch as _hidden_torch\n" + body +
            "del _hidden_test, _hidden_torch\n")
    return f"{BEGIN}\n{text}{END}"


_CALL = re.compile(r"^acn\.checks\.(\w+)\((\w+)\)[ \t]*$", re.M)


def update_notebook(nb) -> list[str]:
    """Rewrite the hidden-test region of every checker cell of ``nb`` (an nbformat notebook,
    changed in place) whose checker has hidden tests; returns the checkers updated. Sources
    only: outputs and metadata stay as they are."""
    from ..exercises import strip_hidden_tests

    done = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        public = strip_hidden_tests(cell.source).rstrip("\n")
        m = _CALL.search(public)
        if m is None or m.group(1) not in HIDDEN_CHECKERS:
            continue
        cell.source = public + "\n" + hidden_region(m.group(1), m.group(2))
        done.append(m.group(1))
    return done


def _main() -> None:   # python -m acnotes.checks.hidden NOTEBOOK...: rewrite the regions
    import nbformat

    for path in sys.argv[1:]:
        nb = nbformat.read(path, as_version=4)
        done = update_notebook(nb)
        nbformat.write(nb, path)
        print(f"{path}: hidden tests of {', '.join(done) or 'no checker'}")


if __name__ == "__main__":
    _main()

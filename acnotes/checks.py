"""Checkers for the classroom exercises of the notebooks.

Each checker takes the student's function, runs it on a few small cases (a single environment
``[T]`` and several ``[T, N]``, episode ends inside the batch, termination and truncation, a
batch that ends mid-episode) and compares the result with the package's reference. On
success it prints one deterministic line::

    reward_to_go: all 6 checks passed.

On failure it raises :class:`CheckFailed` (an ``AssertionError``) whose message says which case
failed (in words), what was expected, what was got, and a hint. When the wrong output matches
a known mistake (no reset at episode ends, the wrong sign, a target that is not detached, ...)
the hint names that mistake. A stub that still raises ``NotImplementedError`` gives
:class:`NotImplementedYet`, which is both a ``CheckFailed`` and a ``NotImplementedError``.

    acn.checks.reward_to_go(my_reward_to_go)
    acn.checks.reinforce_loss(my_reinforce_loss)
    acn.checks.critic_loss(my_critic_loss)
    acn.checks.baseline_lemma_mc(my_baseline_mc)
    acn.checks.a2c_loss(my_a2c_loss)
    acn.checks.td_error(my_td_error)
    acn.checks.gae(my_gae)
    acn.checks.batch_size_experiment(16)
    acn.checks.gamma_experiment("grows")
    acn.checks.claim("E[delta | s, a] = A(s, a)", err < 1e-6, f"max error {err:.1e}")

Conventions the checkers hold the student to (the same as ``acnotes.returns`` and
``acnotes.estimators``): time-major tensors; ``terminated`` stops the bootstrap, ``truncated``
does not (it only ends the episode); squared-error losses are ``0.5 * (pred - target)^2``
averaged over the (valid) steps, with the target detached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from . import returns as R

__all__ = [
    "CheckFailed",
    "NotImplementedYet",
    "reward_to_go",
    "reinforce_loss",
    "critic_loss",
    "baseline_lemma_mc",
    "a2c_loss",
    "td_error",
    "gae",
    "batch_size_experiment",
    "gamma_experiment",
    "claim",
]


class CheckFailed(AssertionError):
    """An exercise check failed; the message says the case, what was expected, what was got,
    and a hint."""


class NotImplementedYet(CheckFailed, NotImplementedError):
    """The function checked still raises ``NotImplementedError`` (the exercise stub)."""


# --------------------------------------------------------------------------- formatting


def _fmt(x: Any) -> str:
    """A small tensor as a rounded nested list; a large one by its shape and first values."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if isinstance(x, Tensor):
        x = x.detach()
        if x.dtype == torch.bool:
            body = str(x.int().tolist())
        elif not x.is_floating_point():
            body = str(x.tolist())
        else:
            if x.numel() > 48:
                flat = [_num(v) for v in x.reshape(-1)[:8].tolist()]
                return f"tensor of shape {list(x.shape)}, first values {flat} ..."
            body = str(_nested(x.double().tolist()))
        return body if x.numel() <= 48 else f"tensor of shape {list(x.shape)}"
    if isinstance(x, float):
        return _num(x)
    return repr(x)


def _num(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return str(v)
    r = round(v, 4)
    return repr(0.0 if r == 0 else r)


def _nested(v):
    if isinstance(v, list):
        return [_nested(u) for u in v]
    if math.isnan(v) or math.isinf(v):
        return v
    r = round(v, 4)
    return 0.0 if r == 0 else r


def _shape(t: Tensor) -> str:
    return "scalar (shape [])" if t.dim() == 0 else f"shape {list(t.shape)}"


# --------------------------------------------------------------------------- the engine


@dataclass
class _Case:
    """One check: a description in words, the inputs in call order, and which inputs get
    ``requires_grad``."""

    words: str
    inputs: dict[str, Any]
    grad: tuple[str, ...] = ()

    def fresh(self) -> tuple[list[Any], dict[str, Tensor]]:
        """New copies of the inputs (so nothing leaks between calls) and the grad leaves."""
        args, leaves = [], {}
        for name, value in self.inputs.items():
            if isinstance(value, Tensor):
                value = value.detach().clone()
                if name in self.grad:
                    value.requires_grad_(True)
                    leaves[name] = value
            args.append(value)
        return args, leaves

    def shown(self) -> str:
        parts = []
        for name, value in self.inputs.items():
            if isinstance(value, Tensor) and value.numel() > 48:
                return ""
            parts.append(f"{name} = {_fmt(value)}")
        return "; ".join(parts)


@dataclass
class _Mistake:
    """A known wrong variant: the same signature as the student's function, and the hint to
    give when the student's output matches it."""

    fn: Callable
    hint: str


@dataclass
class _Spec:
    name: str                        # the checker's name, used in every message
    reference: Callable
    cases: list[_Case]
    outputs: Callable                # (raw output, leaves, student: _Student | None) -> {key: Tensor}
    mistakes: list[_Mistake]
    generic: str                     # hint when no known mistake matches
    key_hints: dict[str, str] = field(default_factory=dict)  # hint when only this key differs
    allow_numpy: bool = False
    rtol: float = 1e-4
    atol: float = 1e-5


class _Student:
    """Calls the student's function on one case and turns every way it can go wrong into a
    CheckFailed that names the case."""

    def __init__(self, spec: _Spec, fn: Callable, index: int, notes: set[str]):
        self.spec, self.fn, self.index, self.notes = spec, fn, index, notes
        self.case = spec.cases[index]

    def header(self) -> str:
        s = self.spec
        lines = [f"{s.name}: check {self.index + 1} of {len(s.cases)} failed.",
                 f"  case: {self.case.words}"]
        shown = self.case.shown()
        if shown:
            lines.append(f"  inputs: {shown}")
        return "\n".join(lines)

    def fail(self, expected: str, got: str, hint: str) -> CheckFailed:
        return CheckFailed(f"{self.header()}\n  expected: {expected}\n  got:      {got}\n  hint: {hint}")

    def call(self, args: list[Any]) -> Any:
        before = [a.detach().clone() if isinstance(a, Tensor) else a for a in args]
        try:
            out = self.fn(*args)
        except NotImplementedError as exc:
            where = getattr(self.fn, "__name__", "your function")
            detail = f" ({exc})" if str(exc) else ""
            raise NotImplementedYet(
                f"{self.spec.name}: not implemented yet: replace the `raise NotImplementedError` "
                f"in `{where}` with your code, run that cell again, then this one.{detail}"
            ) from exc
        except CheckFailed:
            raise
        except Exception as exc:  # the student's code crashed: report it with the case
            hint = "read the error above; run your function by hand on the inputs shown."
            text = str(exc)
            if "in-place" in text or "inplace" in text:
                hint = ("an in-place operation (+=, x[t] = ..., .add_()) on a tensor that needs "
                        "gradient: build a new tensor instead (e.g. collect values in a list and "
                        "torch.stack them).")
            elif "shape" in text or "size" in text or "dimension" in text:
                hint = ("a shape problem: the inputs are time-major, [T] or [T, N]; index time "
                        "with x[t] (which works for both) and keep the other dimensions.")
            raise CheckFailed(
                f"{self.header()}\n  expected: a result\n"
                f"  got:      {type(exc).__name__}: {text}\n  hint: {hint}"
            ) from exc
        for (name, value), old in zip(self.case.inputs.items(), before):
            if isinstance(old, Tensor):
                new = args[list(self.case.inputs).index(name)].detach()
                if new.shape != old.shape or not torch.equal(torch.nan_to_num(new.double()),
                                                             torch.nan_to_num(old.double())):
                    raise self.fail(
                        f"the input `{name}` unchanged, {_fmt(old)}",
                        f"`{name}` changed to {_fmt(new)}",
                        f"your function modified its input `{name}` in place (x += ..., x[t] = ..., "
                        f".mul_()). The caller still needs it: work on a copy "
                        f"(torch.zeros_like(...)) or build a new tensor.",
                    )
        return out

    def tensor(self, out: Any, like: Tensor, what: str, needs_grad: bool = False) -> Tensor:
        """The student's output as a tensor of ``like``'s shape and dtype, or a CheckFailed."""
        expected = f"a torch tensor of {_shape(like)}, dtype {like.dtype}"
        if out is None:
            raise self.fail(expected, f"None as {what}",
                            "your function returns nothing: did you forget the `return` line?")
        if isinstance(out, (np.ndarray, np.generic)):
            if needs_grad or not self.spec.allow_numpy:
                raise self.fail(expected, f"a numpy array as {what}",
                                "return a torch tensor: numpy drops the gradient (no .numpy(), "
                                ".item() or np.* functions in a loss).")
            self.notes.add("returned a numpy array: accepted here, but return a torch tensor "
                           "(torch.zeros_like(r)) so the result works with the rest of the package")
            out = torch.as_tensor(np.asarray(out))
            if out.is_floating_point() and like.is_floating_point():
                out = out.to(like.dtype)
        elif isinstance(out, (float, int)) and not isinstance(out, bool):
            raise self.fail(expected, f"the Python number {_num(float(out))} as {what}",
                            "return a tensor: .item() or float(...) cut the gradient; keep "
                            "torch operations to the end.")
        if not isinstance(out, Tensor):
            raise self.fail(expected, f"{type(out).__name__} as {what}",
                            "return a single torch tensor.")
        if out.shape != like.shape:
            if like.dim() == 0:
                hint = "a loss is one number: reduce with .sum() / ... or .mean() over all steps."
            elif out.dim() == like.dim() + 1 and out.shape[-1] == 1:
                hint = "drop the trailing dimension of size 1 (.squeeze(-1))."
            elif out.numel() == like.numel():
                hint = "the values are laid out in another shape: keep the input's time-major shape."
            else:
                hint = ("the result must have one value per step, the shape of r: time-major "
                        "[T] or [T, N]; loop over t and use x[t] so both shapes work.")
            raise self.fail(expected, f"{what} of {_shape(out)}", hint)
        if not out.is_floating_point():
            raise self.fail(expected, f"{what} of dtype {out.dtype}",
                            "the result must be floating point: build it with "
                            "torch.zeros_like(r) (r is float), not from the boolean flags or integers.")
        if out.dtype != like.dtype:
            raise self.fail(expected, f"{what} of dtype {out.dtype}",
                            f"keep the inputs' dtype ({like.dtype}): create the output with "
                            "torch.zeros_like(r) / torch.empty_like(r) rather than torch.zeros(T).")
        return out


def _grads(out: Tensor, leaves: dict[str, Tensor], names: list[str]) -> list[Tensor]:
    """d out / d leaf for each name, zeros where there is no path (or no gradient at all)."""
    wanted = [leaves[n] for n in names]
    if not isinstance(out, Tensor) or not out.requires_grad:
        return [torch.zeros_like(w) for w in wanted]
    gs = torch.autograd.grad(out, wanted, allow_unused=True, retain_graph=True)
    return [torch.zeros_like(w) if g is None else g.detach() for g, w in zip(gs, wanted)]


def _same(a: Tensor, b: Tensor, rtol: float, atol: float) -> bool:
    if a.shape != b.shape:
        return False
    a, b = a.detach().double(), b.detach().double()
    return bool(torch.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def _first_diff(got: dict, want: dict, rtol: float, atol: float) -> str | None:
    for k in want:
        if not _same(got[k], want[k], rtol, atol):
            return k
    return None


def _evaluate(spec: _Spec, fn: Callable, index: int, student: _Student | None) -> dict[str, Tensor]:
    args, leaves = spec.cases[index].fresh()
    out = student.call(args) if student is not None else fn(*args)
    return spec.outputs(out, leaves, student)


def _quiet(spec: _Spec, fn: Callable, index: int) -> dict[str, Tensor] | None:
    """The student's outputs on another case, or None if anything goes wrong there."""
    try:
        return _evaluate(spec, fn, index, _Student(spec, fn, index, set()))
    except Exception:
        return None


def _diagnose(spec: _Spec, fn: Callable, index: int, got: dict) -> str | None:
    """The hint of the known mistake that best explains the student's outputs: it must match
    the failing case, and among those, the one that matches on the most cases wins."""
    candidates = []
    for order, m in enumerate(spec.mistakes):
        try:
            wrong = _evaluate(spec, m.fn, index, None)
        except Exception:
            continue
        if _first_diff(got, wrong, spec.rtol, spec.atol) is None:
            candidates.append((order, m))
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0][1].hint
    student_all = {i: _quiet(spec, fn, i) for i in range(len(spec.cases))}
    best, best_score = None, -1
    for order, m in candidates:
        score = 0
        for i, obs in student_all.items():
            if obs is None:
                continue
            try:
                wrong = _evaluate(spec, m.fn, i, None)
            except Exception:
                continue
            score += _first_diff(obs, wrong, spec.rtol, spec.atol) is None
        if score > best_score:
            best, best_score = m, score
    return best.hint


def _run(spec: _Spec, fn: Callable) -> None:
    if not callable(fn):
        raise CheckFailed(f"{spec.name}: expected a function, got {type(fn).__name__}: pass the "
                          f"function itself, without calling it (no parentheses).")
    notes: set[str] = set()
    for i in range(len(spec.cases)):
        want = _evaluate(spec, spec.reference, i, None)
        student = _Student(spec, fn, i, notes)
        got = _evaluate(spec, fn, i, student)
        key = _first_diff(got, want, spec.rtol, spec.atol)
        if key is None:
            continue
        hint = _diagnose(spec, fn, i, got)
        if hint is None:
            if not torch.isfinite(got[key]).all() and torch.isfinite(want[key]).all():
                hint = ("your result contains NaN or inf: look for a log of 0, a division by 0, "
                        "or an uninitialised tensor (torch.empty without filling every entry).")
            else:
                hint = spec.key_hints.get(key, spec.generic)
        lines = [student.header()]
        for k in want:
            mark = "" if _same(got[k], want[k], spec.rtol, spec.atol) else "   <- differs"
            lines.append(f"  expected {k}: {_fmt(want[k])}")
            lines.append(f"  got      {k}: {_fmt(got[k])}{mark}")
        lines.append(f"  hint: {hint}")
        raise CheckFailed("\n".join(lines))
    tail = "".join(f" Note: {n}." for n in sorted(notes))
    print(f"{spec.name}: all {len(spec.cases)} checks passed.{tail}")


# --------------------------------------------------------------------------- episode data


def _t(x, dtype=torch.float32) -> Tensor:
    return torch.tensor(x, dtype=dtype)


def _b(x) -> Tensor:
    return torch.tensor(x, dtype=torch.bool)


def _series() -> list[dict]:
    """Small rollouts: r, v, v_next, terminated, truncated, gamma, and a description.

    ``v_next[t]`` is V(s_{t+1}): equal to ``v[t+1]`` inside an episode, the last state's value
    at a truncation, and a nonzero value at a termination (so that bootstrapping there shows).
    """
    out = []

    def add(words, r, v, v_next, term, trunc, gamma, dtype=torch.float32):
        out.append(dict(words=words, r=_t(r, dtype), v=_t(v, dtype), v_next=_t(v_next, dtype),
                        terminated=_b(term), truncated=_b(trunc), gamma=gamma))

    add("[T] = [5], gamma = 0.9: one episode that is still running when the batch ends "
        "(no flag set).",
        [1.0, 0.5, -1.0, 2.0, 1.5], [3.0, 2.5, 2.0, 2.6, 1.2], [2.5, 2.0, 2.6, 1.2, 0.8],
        [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], 0.9)
    add("[T] = [6], gamma = 0.9: the episode terminates after t = 2; a new one starts at t = 3 "
        "and is still running when the batch ends.",
        [1.0, 2.0, -0.5, 1.0, 0.5, 2.0], [2.0, 1.5, 0.7, 3.0, 2.2, 1.9],
        [1.5, 0.7, 1.3, 2.2, 1.9, 1.1], [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0], 0.9)
    add("[T] = [6], gamma = 0.9: the episode is truncated (time limit) after t = 3; a new one "
        "starts at t = 4.",
        [0.5, 1.0, 1.5, -1.0, 2.0, 1.0], [2.0, 1.8, 1.1, 0.4, 2.5, 1.6],
        [1.8, 1.1, 0.4, 0.9, 1.6, 1.4], [0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0], 0.9)
    # three environments, time-major [7, 3]
    r = [[1.0, 0.5, 2.0], [-1.0, 1.0, 0.5], [2.0, 1.5, -0.5], [0.5, 0.5, 1.0],
         [1.5, -1.0, 1.0], [1.0, 2.0, 0.5], [-0.5, 1.0, 1.5]]
    v = [[2.0, 1.0, 3.0], [1.0, 1.4, 2.1], [2.2, 0.9, 2.4], [1.7, 2.6, 1.8],
         [0.8, 1.9, 1.3], [2.4, 1.1, 0.6], [1.9, 0.7, 2.8]]
    term = [[0, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0]]
    trunc = [[0, 0, 0], [0, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]]
    vn = [[v[t + 1][n] if t + 1 < 7 else 1.3 for n in range(3)] for t in range(7)]
    vn[1][0], vn[4][0] = 1.6, 0.9     # terminated: any value; it must not be used
    vn[2][1] = 1.2                    # truncated: the last state's value, not the next start's
    vn[5][2] = 2.2                    # both flags: terminated wins, no bootstrap
    add("[T, N] = [7, 3], gamma = 0.9: env 0 terminates after t = 1 and after t = 4, env 1 is "
        "truncated after t = 2, env 2 is terminated and truncated at once after t = 5; every "
        "env is mid-episode when the batch ends.", r, v, vn, term, trunc, 0.9)
    add("[T, N] = [5, 2], float64, gamma = 0.5: the batch ends exactly at an episode end "
        "(env 0 terminated at the last step, env 1 truncated at the last step).",
        [[1.0, 2.0], [0.5, -1.0], [2.0, 1.0], [-1.0, 0.5], [1.5, 1.0]],
        [[1.0, 2.0], [1.5, 0.5], [0.5, 1.5], [2.0, 1.0], [1.0, 0.5]],
        [[1.5, 0.5], [0.5, 1.5], [2.0, 1.0], [1.0, 0.5], [0.7, 1.7]],
        [[0, 0], [0, 0], [0, 0], [0, 0], [1, 0]], [[0, 0], [0, 0], [0, 0], [0, 0], [0, 1]],
        0.5, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    T, N = 16, 4
    rr = torch.round(torch.randn(T, N, generator=g) * 100) / 100
    vv = torch.round(torch.randn(T, N, generator=g) * 100) / 100 + 1.0
    ends = torch.rand(T, N, generator=g)
    tm, tr = ends < 0.12, (ends >= 0.12) & (ends < 0.2)
    vnn = torch.cat([vv[1:], torch.ones(1, N)])
    vnn = torch.where(tm | tr, torch.round(torch.randn(T, N, generator=g) * 100) / 100 + 1.0, vnn)
    out.append(dict(words="[T, N] = [16, 4], gamma = 0.95: random rewards, values and episode "
                          "ends (seed 0; terminations and truncations in every env).",
                    r=rr, v=vv, v_next=vnn, terminated=tm, truncated=tr, gamma=0.95))
    return out


def _f(x: Tensor, like: Tensor) -> Tensor:
    return x.to(like.dtype)


def _scan(x: Tensor, factor: float, stop: Tensor, forward: bool = False) -> Tensor:
    """y_t = x_t + factor * (1 - stop_t) * y_{t+1} (backwards), or the same forwards in time
    (y_t = x_t + factor * (1 - stop_{t-1}) * y_{t-1})."""
    out = torch.zeros_like(x)
    acc = torch.zeros_like(x[0])
    T = x.shape[0]
    if forward:
        for t in range(T):
            keep = 1.0 if t == 0 else (1.0 - _f(stop[t - 1], x))
            acc = x[t] + factor * keep * acc
            out[t] = acc
    else:
        for t in range(T - 1, -1, -1):
            acc = x[t] + factor * (1.0 - _f(stop[t], x)) * acc
            out[t] = acc
    return out


def _step_in_episode(done: Tensor) -> Tensor:
    """0, 1, 2, ... within each episode (the batch start counts as an episode start)."""
    k = torch.zeros(done.shape, dtype=torch.float64)
    for t in range(1, done.shape[0]):
        k[t] = torch.where(done[t - 1], torch.zeros_like(k[t]), k[t - 1] + 1)
    return k


# --------------------------------------------------------------------------- 1. reward-to-go


def _rtg_cases() -> list[_Case]:
    cases = []
    for s in _series():
        cases.append(_Case(s["words"], dict(r=s["r"], terminated=s["terminated"],
                                            truncated=s["truncated"], gamma=s["gamma"])))
    cases.insert(4, _Case(
        "[T, N] = [4, 2], gamma = 0: with no discounting of the future G_t is r_t itself.",
        dict(r=_t([[1.0, -2.0], [0.5, 3.0], [2.0, 1.0], [-1.0, 0.5]]),
             terminated=_b([[0, 0], [1, 0], [0, 0], [0, 0]]),
             truncated=_b([[0, 0], [0, 0], [0, 1], [0, 0]]), gamma=0.0)))
    return cases


def _rtg_outputs(out, leaves, student):
    return {"G_t": out if student is None else student.tensor(out, student.case.inputs["r"], "G_t")}


def _rtg_mistakes() -> list[_Mistake]:
    def done(te, tr):
        return te | tr

    def rtg_with(stop, gamma_of=lambda g: g, forward=False):
        return lambda r, te, tr, g: _scan(r, gamma_of(g), stop(te, tr), forward)

    def episode_total(r, te, tr, g):
        d = done(te, tr)
        fwd_start = _scan(r, g, d)  # G_t; the value at the episode's first step is its total
        out = fwd_start.clone()
        for t in range(1, r.shape[0]):
            out[t] = torch.where(d[t - 1], fwd_start[t], out[t - 1])
        return out

    def from_episode_start(r, te, tr, g):
        d = done(te, tr)
        return _scan(r, g, d) * (g ** _step_in_episode(d)).to(r.dtype)

    return [
        _Mistake(rtg_with(lambda te, tr: torch.zeros_like(te)),
                 "your G_t carries over episode ends: reset the running return where terminated "
                 "or truncated, G_t = r_t + gamma * (1 - done_t) * G_{t+1} with done_t = "
                 "terminated_t or truncated_t."),
        _Mistake(rtg_with(lambda te, tr: te),
                 "you reset the return only where terminated, so it runs on through a truncation "
                 "into the next episode. A truncated episode has ended too: reset where "
                 "terminated OR truncated (REINFORCE's Monte Carlo return has no V(s_{t+1}) to "
                 "bootstrap from; it simply stops)."),
        _Mistake(rtg_with(lambda te, tr: tr),
                 "you reset the return only where truncated; a termination ends the episode "
                 "too: reset where terminated OR truncated."),
        _Mistake(rtg_with(done, forward=True),
                 "you accumulated forwards in time (a sum of the rewards BEFORE t). The reward-to-go "
                 "sums the rewards from t on: loop backwards, for t in reversed(range(T)), "
                 "G_t = r_t + gamma * (1 - done_t) * G_{t+1}."),
        _Mistake(rtg_with(lambda te, tr: torch.zeros_like(te), forward=True),
                 "you accumulated forwards in time and never reset at episode ends. Loop "
                 "backwards (for t in reversed(range(T))) and reset where terminated or truncated."),
        _Mistake(episode_total,
                 "every step of an episode got the same value, the whole episode's return. The "
                 "reward-to-go of step t counts only the rewards from t on."),
        _Mistake(rtg_with(done, gamma_of=lambda g: 1.0),
                 "your return is not discounted: multiply the running return by gamma at each "
                 "step, G_t = r_t + gamma * G_{t+1}."),
        _Mistake(lambda r, te, tr, g: g * R.reward_to_go(r, te, tr, g),
                 "your G_t is gamma times too small: the first reward r_t is not discounted, "
                 "G_t = r_t + gamma * G_{t+1}."),
        _Mistake(from_episode_start,
                 "you discounted from the start of the episode (gamma^(t+k) r_{t+k}); the "
                 "reward-to-go discounts from t: G_t = sum_k gamma^k r_{t+k}."),
    ]


def reward_to_go(fn: Callable) -> None:
    """Check ``fn(r, terminated, truncated, gamma) -> G_t``, the discounted reward-to-go that
    restarts at every episode end (either flag) and has no bootstrap.

    Reference: ``acnotes.returns.reward_to_go(r, terminated, truncated, gamma)``.
    """
    _run(_Spec(
        name="reward_to_go",
        reference=lambda r, te, tr, g: R.reward_to_go(r, te, tr, g),
        cases=_rtg_cases(), outputs=_rtg_outputs, mistakes=_rtg_mistakes(),
        generic="G_t = r_t + gamma * (1 - done_t) * G_{t+1}, computed backwards from the last "
                "step, with done_t = terminated_t or truncated_t and G = 0 after the batch end.",
        allow_numpy=True,
    ), fn)


# --------------------------------------------------------------------------- 6. TD error


def _td_cases() -> list[_Case]:
    return [_Case(s["words"], dict(r=s["r"], v=s["v"], v_next=s["v_next"],
                                   terminated=s["terminated"], truncated=s["truncated"],
                                   gamma=s["gamma"]))
            for s in _series()]


def _td_ref(r, v, vn, te, tr, g):
    return R.td_error(r, v, vn, te, g)


def td_error(fn: Callable) -> None:
    """Check ``fn(r, v, v_next, terminated, truncated, gamma) -> delta_t``,
    ``delta_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t)``.
    Truncation does not stop the bootstrap.
    """
    _run(_Spec(
        name="td_error", reference=_td_ref, cases=_td_cases(),
        outputs=lambda out, leaves, st: {"delta_t": out if st is None else
                                         st.tensor(out, st.case.inputs["r"], "delta_t")},
        mistakes=[
            _Mistake(lambda r, v, vn, te, tr, g: r + g * vn - v,
                     "you bootstrap at a termination: after the last step of an episode that "
                     "really ended there is no future, so the target is r_t alone. Multiply "
                     "gamma * V(s_{t+1}) by (1 - terminated_t)."),
            _Mistake(lambda r, v, vn, te, tr, g: r + g * (1.0 - _f(te | tr, r)) * vn - v,
                     "you also stop the bootstrap at a truncation (using done = terminated or "
                     "truncated). A time limit is not a termination: the future exists, so the "
                     "target keeps gamma * V(s_{t+1}) there. Use (1 - terminated_t) only."),
            _Mistake(lambda r, v, vn, te, tr, g: v - (r + g * (1.0 - _f(te, r)) * vn),
                     "wrong sign: delta_t is target minus prediction, "
                     "r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t)."),
            _Mistake(lambda r, v, vn, te, tr, g: r + (1.0 - _f(te, r)) * vn - v,
                     "gamma is missing: the next state's value is discounted, "
                     "gamma * (1 - terminated_t) * V(s_{t+1})."),
            _Mistake(lambda r, v, vn, te, tr, g: r + g * (1.0 - _f(te, r)) * vn,
                     "you returned the TD target; the TD error subtracts the prediction V(s_t)."),
            _Mistake(lambda r, v, vn, te, tr, g: r + g * (1.0 - _f(te, r)) * torch.cat(
                         [v[1:], torch.zeros_like(v[:1])]) - v,
                     "you used v[t+1] as the next value; use v_next[t]: at an episode end v[t+1] "
                     "belongs to the next episode (and there is none after the batch end)."),
        ],
        generic="delta_t = r_t + gamma * (1 - terminated_t) * v_next_t - v_t, elementwise; "
                "truncated_t is not used.",
        allow_numpy=True,
    ), fn)


# --------------------------------------------------------------------------- 7. GAE


def _gae_cases() -> list[_Case]:
    cases = []
    for s, lam in zip(_series(), [0.8, 0.8, 0.8, 0.8, 0.7, 0.9]):
        cases.append(_Case(s["words"].replace("gamma = ", f"lam = {lam}, gamma = "),
                           dict(r=s["r"], v=s["v"], v_next=s["v_next"], terminated=s["terminated"],
                                truncated=s["truncated"], gamma=s["gamma"], lam=lam)))
    s = _series()[3]
    for lam, what in [(0.0, "lam = 0: GAE is the TD error delta_t"),
                      (1.0, "lam = 1: GAE is G_t - V(s_t), bootstrapped at truncation")]:
        cases.append(_Case(f"{what}; the [7, 3] batch above (gamma = 0.9).",
                           dict(r=s["r"], v=s["v"], v_next=s["v_next"], terminated=s["terminated"],
                                truncated=s["truncated"], gamma=0.9, lam=lam)))
    return cases


def _gae_with(delta_stop=lambda te, tr: te, rec_stop=lambda te, tr: te | tr,
              factor=lambda g, l: g * l, delta_gamma=lambda g, l: g, forward=False, plus_v=False):
    def f(r, v, vn, te, tr, g, l):
        delta = r + delta_gamma(g, l) * (1.0 - _f(delta_stop(te, tr), r)) * vn - v
        a = _scan(delta, factor(g, l), rec_stop(te, tr), forward)
        return a + v if plus_v else a
    return f


def gae(fn: Callable) -> None:
    """Check ``fn(r, v, v_next, terminated, truncated, gamma, lam) -> A_t``, the GAE(lambda)
    advantage: ``A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}`` with ``delta_t`` from
    ``(1 - terminated_t)``, the recursion stopped at either flag and at the batch end.

    Reference: ``acnotes.returns.gae``.
    """
    none = lambda te, tr: torch.zeros_like(te)  # noqa: E731
    _run(_Spec(
        name="gae", reference=R.gae, cases=_gae_cases(),
        outputs=lambda out, leaves, st: {"A_t": out if st is None else
                                         st.tensor(out, st.case.inputs["r"], "A_t")},
        mistakes=[
            _Mistake(_gae_with(rec_stop=none),
                     "your advantage carries over episode ends: reset the running sum where "
                     "terminated or truncated, A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}."),
            _Mistake(_gae_with(rec_stop=lambda te, tr: te),
                     "you stop the recursion only at terminations; a truncated episode has ended "
                     "too (the next step belongs to a new episode): use done_t = terminated_t or "
                     "truncated_t in the recursion (delta_t itself keeps its bootstrap)."),
            _Mistake(_gae_with(delta_stop=lambda te, tr: te | tr),
                     "your delta_t drops the bootstrap at a truncation (you used done in delta). "
                     "At a time limit the future exists: delta_t = r_t + gamma * (1 - "
                     "terminated_t) * V(s_{t+1}) - V(s_t). Only the recursion uses done_t."),
            _Mistake(_gae_with(delta_stop=none),
                     "your delta_t bootstraps at a termination: multiply gamma * V(s_{t+1}) by "
                     "(1 - terminated_t)."),
            _Mistake(_gae_with(factor=lambda g, l: g),
                     "lam is missing: the recursion factor is gamma * lam, "
                     "A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}."),
            _Mistake(_gae_with(factor=lambda g, l: l),
                     "gamma is missing from the recursion: the factor is gamma * lam, not lam alone."),
            _Mistake(_gae_with(delta_gamma=lambda g, l: l),
                     "gamma and lam are swapped in delta_t: the TD error discounts with gamma, "
                     "delta_t = r_t + gamma * (1 - terminated_t) * V(s_{t+1}) - V(s_t); lam only "
                     "appears in the recursion factor gamma * lam."),
            _Mistake(_gae_with(delta_gamma=lambda g, l: l, factor=lambda g, l: g),
                     "gamma and lam play swapped roles: delta_t uses gamma, and the recursion "
                     "factor is gamma * lam."),
            _Mistake(_gae_with(plus_v=True),
                     "you returned the lambda-return A_t + V(s_t) (the critic's target); the "
                     "advantage is without + V(s_t)."),
            _Mistake(_gae_with(forward=True),
                     "you accumulated forwards in time; A_t sums the TD errors from t on: loop "
                     "for t in reversed(range(T))."),
        ],
        generic="delta_t = r_t + gamma * (1 - terminated_t) * v_next_t - v_t, then backwards "
                "A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}, with A = 0 after the "
                "batch end and done_t = terminated_t or truncated_t.",
        allow_numpy=True,
    ), fn)


# --------------------------------------------------------------------------- 2. REINFORCE loss


def _logp(logits: Tensor, actions: Tensor) -> Tensor:
    return torch.log_softmax(logits, -1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


def _policy_batch(T: int, N: int, A: int, seed: int, valid_upto: list[int] | None):
    g = torch.Generator().manual_seed(seed)
    logits = torch.round(torch.randn(T, N, A, generator=g) * 100) / 100
    actions = torch.randint(0, A, (T, N), generator=g)
    G = torch.round(torch.randn(T, N, generator=g) * 200) / 100 + 1.0
    valid = torch.ones(T, N, dtype=torch.bool)
    if valid_upto is not None:
        for n, k in enumerate(valid_upto):
            valid[k:, n] = False
    return logits, actions, G, valid


def _reinforce_cases() -> list[_Case]:
    cases = []
    lg, a, G, valid = _policy_batch(4, 2, 3, 1, None)
    cases.append(_Case("[T, N] = [4, 2], 3 actions, every step valid, n_episodes = 2 (one "
                       "episode per env).",
                       dict(logits=lg, actions=a, G=G, valid=valid, n_episodes=2), ("logits",)))
    lg, a, G, valid = _policy_batch(6, 3, 2, 2, [6, 4, 2])
    valid[3, 0] = False   # the autoreset step after an episode end in env 0
    cases.append(_Case("[T, N] = [6, 3], 2 actions, n_episodes = 5: some steps are not valid "
                       "(an autoreset step in env 0, envs 1 and 2 padded after their last "
                       "episode); their G is garbage and must not count.",
                       dict(logits=lg, actions=a, G=G, valid=valid, n_episodes=5), ("logits",)))
    lg = _t([[[120.0, -120.0], [0.0, 1.0]], [[-60.0, 60.0], [2.0, -1.0]], [[1.0, 0.5], [-0.5, 0.5]]])
    cases.append(_Case("[T, N] = [3, 2], large logits (+-120): the action taken at t = 0 in env 0 "
                       "has probability e^-240, which is 0.0 in float32, yet its "
                       "log-probability -240 is finite.",
                       dict(logits=lg, actions=torch.tensor([[1, 1], [0, 0], [1, 0]]),
                            G=_t([[1.5, -0.5], [2.0, 1.0], [0.5, 1.0]]),
                            valid=_b([[1, 1], [1, 1], [1, 1]]), n_episodes=2), ("logits",)))
    lg, a, G, valid = _policy_batch(10, 4, 4, 3, [10, 7, 9, 5])
    valid[4, 0] = False
    cases.append(_Case("[T, N] = [10, 4], 4 actions, random logits and returns (seed 3), "
                       "n_episodes = 6, padded steps in envs 0, 1, 2 and 3.",
                       dict(logits=lg, actions=a, G=G, valid=valid, n_episodes=6), ("logits",)))
    return cases


def _scalar_loss(out, leaves, st, names, what="loss"):
    if st is not None:
        out = st.tensor(out, torch.zeros((), dtype=leaves[names[0]].dtype), what, needs_grad=True)
    res = {what: out.detach()}
    for n, g in zip(names, _grads(out, leaves, names)):
        res[f"d {what} / d {n}"] = g
    return res


def _reinforce_ref(logits, actions, G, valid, n_episodes):
    terms = _logp(logits, actions) * G
    return -torch.where(valid, terms, torch.zeros_like(terms)).sum() / n_episodes


def _masked(x, valid):
    return torch.where(valid, x, torch.zeros_like(x))


def reinforce_loss(fn: Callable) -> None:
    """Check ``fn(logits, actions, G, valid, n_episodes) -> loss``, the REINFORCE surrogate
    ``-(1 / n_episodes) * sum_{valid t, n} log pi(a_t | s_t) * G_t``, by value and by its
    gradient with respect to the logits.
    """
    _run(_Spec(
        name="reinforce_loss", reference=_reinforce_ref, cases=_reinforce_cases(),
        outputs=lambda out, leaves, st: _scalar_loss(out, leaves, st, ["logits"]),
        mistakes=[
            _Mistake(lambda lg, a, G, v, n: -_reinforce_ref(lg, a, G, v, n),
                     "wrong sign: the optimizer minimizes the loss and we want to maximize J, "
                     "so the loss is MINUS (1 / n_episodes) * sum log pi(a_t|s_t) * G_t."),
            _Mistake(lambda lg, a, G, v, n: -_masked(torch.softmax(lg, -1).gather(
                         -1, a.unsqueeze(-1)).squeeze(-1) * G, v).sum() / n,
                     "you used the probability pi(a_t|s_t) instead of its logarithm: the "
                     "log-derivative trick needs log pi (torch.log_softmax(logits, -1))."),
            _Mistake(lambda lg, a, G, v, n: -_masked(torch.log(torch.softmax(lg, -1)).gather(
                         -1, a.unsqueeze(-1)).squeeze(-1) * G, v).sum() / n,
                     "torch.log(torch.softmax(logits)) is log pi on paper, but for large logits "
                     "the softmax rounds a probability to 0.0 and its log becomes -inf (and the "
                     "gradient NaN). torch.log_softmax(logits, -1) computes the same thing "
                     "stably; use it."),
            _Mistake(lambda lg, a, G, v, n: -_masked(lg.gather(-1, a.unsqueeze(-1)).squeeze(-1)
                                                     * G, v).sum() / n,
                     "you used the raw logit of the action as its log-probability; logits are "
                     "not normalized: take torch.log_softmax(logits, -1) first."),
            _Mistake(lambda lg, a, G, v, n: -_masked(_logp(lg, a) * G, v).sum() / v.sum(),
                     "you averaged over the valid steps; REINFORCE's estimate sums over time and "
                     "averages over episodes: divide the sum by n_episodes."),
            _Mistake(lambda lg, a, G, v, n: -_masked(_logp(lg, a) * G, v).mean(),
                     "you took the mean over all T * N steps; REINFORCE's estimate sums over time "
                     "and averages over episodes: divide the masked sum by n_episodes."),
            _Mistake(lambda lg, a, G, v, n: -_masked(_logp(lg, a) * G, v).sum(),
                     "you summed without dividing by n_episodes: the estimate is the average "
                     "over episodes of the sum over time."),
            _Mistake(lambda lg, a, G, v, n: -(_logp(lg, a) * G).sum() / n,
                     "invalid steps are counted: zero them with the mask before summing, e.g. "
                     "torch.where(valid, logp * G, torch.zeros_like(G)) (their G is garbage)."),
            _Mistake(lambda lg, a, G, v, n: -(_logp(lg, a) * G).mean(),
                     "invalid steps are counted and the mean is over all steps: mask with "
                     "`valid`, sum, and divide by n_episodes."),
        ],
        generic="loss = -(1 / n_episodes) * sum over valid (t, n) of "
                "log_softmax(logits)[t, n, actions[t, n]] * G[t, n].",
        key_hints={"d loss / d logits": "the value is right but the gradient is not: is something "
                   "detached, or computed with .item() / numpy / torch.no_grad()?"},
    ), fn)


# --------------------------------------------------------------------------- 3. critic loss


def _critic_cases() -> list[_Case]:
    cases = []
    for s, wide in zip(_series(), [False, False, False, True, False, True]):
        q = s["v"] + (torch.arange(s["r"].numel()).reshape(s["r"].shape) % 3 - 1).to(s["r"].dtype) * (
            2.5 if wide else 0.3)
        cases.append(_Case(s["words"] + (" Errors |q - y| above 1." if wide else ""),
                           dict(q_sa=q, r=s["r"], v_next=s["v_next"], terminated=s["terminated"],
                                gamma=s["gamma"]),
                           ("q_sa", "v_next")))
    return cases


def _critic_ref(q, r, vn, te, g):
    y = (r + g * (1.0 - _f(te, r)) * vn).detach()
    return (0.5 * (q - y) ** 2).mean()


def critic_loss(fn: Callable) -> None:
    """Check ``fn(q_sa, r, v_next, terminated, gamma) -> loss``, the TD regression
    ``mean(0.5 * (q_sa - y)^2)`` onto ``y = r + gamma * (1 - terminated) * v_next`` with y
    detached: the gradient reaches ``q_sa`` only, never ``v_next``.

    The factor 0.5 is required (it makes the gradient ``q_sa - y``), as in
    ``acnotes.estimators.critic_loss``; a loss without it fails with a hint saying so.
    """
    def y(r, vn, te, g):
        return r + g * (1.0 - _f(te, r)) * vn

    _run(_Spec(
        name="critic_loss", reference=_critic_ref, cases=_critic_cases(),
        outputs=lambda out, leaves, st: _scalar_loss(out, leaves, st, ["q_sa", "v_next"]),
        mistakes=[
            _Mistake(lambda q, r, vn, te, g: (0.5 * (q - y(r, vn, te, g)) ** 2).mean(),
                     "the target is not detached: gradient flows into v_next, so the critic "
                     "also moves its own target. Use y = (r + gamma * (1 - terminated) * "
                     "v_next).detach() (a semi-gradient, as in TD(0))."),
            _Mistake(lambda q, r, vn, te, g: (0.5 * (q - (r + g * vn).detach()) ** 2).mean(),
                     "you bootstrap at a termination: after the last step of an episode that "
                     "really ended the target is r alone; multiply gamma * v_next by "
                     "(1 - terminated)."),
            _Mistake(lambda q, r, vn, te, g: ((q - y(r, vn, te, g).detach()) ** 2).mean(),
                     "the loss is twice the expected one: this exercise uses 0.5 * (q_sa - y)^2, "
                     "whose gradient is exactly (q_sa - y) (F.mse_loss has no 0.5)."),
            _Mistake(lambda q, r, vn, te, g: (0.5 * (q - y(r, vn, te, g).detach()) ** 2).sum(),
                     "you summed over the steps; take the mean (the loss should not grow with "
                     "the batch size)."),
            _Mistake(lambda q, r, vn, te, g: ((q - y(r, vn, te, g).detach()) ** 2).sum(),
                     "you summed over the steps and dropped the 0.5: the loss is the mean of "
                     "0.5 * (q_sa - y)^2."),
            _Mistake(lambda q, r, vn, te, g: (0.5 * (q - (y(r, vn, te, g) - q).detach()) ** 2).mean(),
                     "you regressed q_sa onto the TD error y - q_sa (the bug of the blog post); "
                     "regress onto the TD target y = r + gamma * (1 - terminated) * v_next."),
            _Mistake(lambda q, r, vn, te, g: torch.nn.functional.smooth_l1_loss(
                         q, y(r, vn, te, g).detach()),
                     "that is the smooth-L1 (Huber) loss: it equals 0.5 * e^2 only for |e| < 1. "
                     "The exercise asks for the squared error mean(0.5 * (q_sa - y)^2)."),
        ],
        generic="y = (r + gamma * (1 - terminated) * v_next).detach(); "
                "loss = (0.5 * (q_sa - y) ** 2).mean().",
        key_hints={"d loss / d v_next": "the value is right but gradient reaches v_next: detach "
                   "the target y.",
                   "d loss / d q_sa": "the value is right but the gradient with respect to q_sa "
                   "is not: is q_sa detached somewhere?"},
    ), fn)


# --------------------------------------------------------------------------- 5. A2C loss


def _a2c_cases() -> list[_Case]:
    cases = []
    for (T, N, A, seed, upto, coef, words) in [
        (5, 2, 3, 11, None, 0.5, "[T, N] = [5, 2], 3 actions, every step valid, vf_coef = 0.5."),
        (6, 3, 2, 12, [6, 4, 3], 0.25, "[T, N] = [6, 3], 2 actions, vf_coef = 0.25: envs 1 and 2 "
                                       "have invalid (padded) steps whose values are garbage."),
        (8, 4, 4, 13, [8, 6, 8, 2], 1.0, "[T, N] = [8, 4], 4 actions, random (seed 13), "
                                         "vf_coef = 1.0, padded steps in envs 1 and 3."),
    ]:
        lg, a, target, valid = _policy_batch(T, N, A, seed, upto)
        g = torch.Generator().manual_seed(seed + 100)
        v = torch.round(torch.randn(T, N, generator=g) * 150) / 100 + 0.5
        cases.append(_Case(words, dict(logits=lg, actions=a, v=v, target=target, valid=valid,
                                       vf_coef=coef), ("logits", "v", "target")))
    return cases


def _mean_valid(x, valid):
    return _masked(x, valid).sum() / valid.sum().clamp(min=1)


def _a2c_ref(logits, actions, v, target, valid, vf_coef):
    adv = (target - v).detach()
    actor = -_mean_valid(_logp(logits, actions) * adv, valid)
    critic = vf_coef * _mean_valid(0.5 * (v - target.detach()) ** 2, valid)
    return actor, critic


def _a2c_outputs(out, leaves, st):
    names = ["logits", "v", "target"]
    if st is not None:
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise st.fail("a pair (actor_loss, critic_loss) of scalar tensors",
                          f"{type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""),
                          "return actor_loss, critic_loss (two scalar tensors, in that order).")
        like = torch.zeros((), dtype=leaves["logits"].dtype)
        actor = st.tensor(out[0], like, "actor_loss", needs_grad=True)
        critic = st.tensor(out[1], like.to(leaves["v"].dtype), "critic_loss", needs_grad=True)
    else:
        actor, critic = out
    res = {"actor_loss": actor.detach(), "critic_loss": critic.detach()}
    for what, loss in (("actor_loss", actor), ("critic_loss", critic)):
        for n, g in zip(names, _grads(loss, leaves, names)):
            res[f"d {what} / d {n}"] = g
    return res


def a2c_loss(fn: Callable) -> None:
    """Check ``fn(logits, actions, v, target, valid, vf_coef) -> (actor_loss, critic_loss)``:

        advantage   = (target - v).detach()
        actor_loss  = -mean over valid steps of log pi(a_t | s_t) * advantage_t
        critic_loss = vf_coef * mean over valid steps of 0.5 * (v_t - target_t.detach())^2

    by value and by the gradients of each loss with respect to logits, v and target.
    """
    def lp(lg, a):
        return _logp(lg, a)

    def mistake(actor=None, critic=None):
        def f(lg, a, v, tg, valid, c):
            ra, rc = _a2c_ref(lg, a, v, tg, valid, c)
            return (actor(lg, a, v, tg, valid, c) if actor else ra,
                    critic(lg, a, v, tg, valid, c) if critic else rc)
        return f

    def swapped(lg, a, v, tg, valid, c):
        ra, rc = _a2c_ref(lg, a, v, tg, valid, c)
        return rc, ra

    _run(_Spec(
        name="a2c_loss", reference=_a2c_ref, cases=_a2c_cases(), outputs=_a2c_outputs,
        mistakes=[
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: -_mean_valid(lp(lg, a) * (tg - v), m)),
                     "the advantage is not detached: the actor loss sends gradient into the "
                     "critic v (d actor_loss / d v should be 0). Use advantage = "
                     "(target - v).detach()."),
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: _mean_valid(lp(lg, a) * (tg - v).detach(), m)),
                     "wrong sign of the actor loss: minimizing it must increase log pi of actions "
                     "with a positive advantage, so actor_loss = -mean(log pi * advantage)."),
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: -_mean_valid(lp(lg, a) * (v - tg).detach(), m)),
                     "the advantage has the wrong sign: it is target - v (how much better than "
                     "expected), not v - target."),
            _Mistake(mistake(critic=lambda lg, a, v, tg, m, c: c * _mean_valid(0.5 * (v - tg) ** 2, m)),
                     "the target is not detached in the critic loss: gradient flows into target "
                     "(d critic_loss / d target should be 0). Use target.detach()."),
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: -_masked(lp(lg, a) * (tg - v).detach(), m).sum(),
                             critic=lambda lg, a, v, tg, m, c: c * _masked(0.5 * (v - tg.detach()) ** 2, m).sum()),
                     "you summed over the steps; both losses are means over the valid steps "
                     "(sum of the masked terms / valid.sum())."),
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: -_masked(lp(lg, a) * (tg - v).detach(), m).sum()),
                     "the actor loss is a sum; take the mean over the valid steps."),
            _Mistake(mistake(critic=lambda lg, a, v, tg, m, c: c * _masked(0.5 * (v - tg.detach()) ** 2, m).sum()),
                     "the critic loss is a sum; take the mean over the valid steps."),
            _Mistake(lambda lg, a, v, tg, m, c: (-(lp(lg, a) * (tg - v).detach()).mean(),
                                                 c * (0.5 * (v - tg.detach()) ** 2).mean()),
                     "invalid steps are counted: average only over the valid steps, "
                     "(x * valid).sum() / valid.sum()."),
            _Mistake(lambda lg, a, v, tg, m, c: (-_masked(lp(lg, a) * (tg - v).detach(), m).mean(),
                                                 c * _masked(0.5 * (v - tg.detach()) ** 2, m).mean()),
                     "you masked but divided by all T * N steps (.mean()); divide by the number "
                     "of valid steps, valid.sum()."),
            _Mistake(mistake(critic=lambda lg, a, v, tg, m, c: _mean_valid(0.5 * (v - tg.detach()) ** 2, m)),
                     "vf_coef is missing: critic_loss = vf_coef * mean(0.5 * (v - target)^2)."),
            _Mistake(mistake(critic=lambda lg, a, v, tg, m, c: c * _mean_valid((v - tg.detach()) ** 2, m)),
                     "the critic loss is twice the expected one: it is 0.5 * (v - target)^2."),
            _Mistake(mistake(actor=lambda lg, a, v, tg, m, c: -_mean_valid(lp(lg, a) * tg, m)),
                     "you weighted log pi by the target (the return), not by the advantage "
                     "target - v: without the baseline this is REINFORCE, not A2C."),
            _Mistake(swapped, "the two losses are swapped: return (actor_loss, critic_loss)."),
        ],
        generic="advantage = (target - v).detach(); actor_loss = -mean_valid(log_softmax(logits)"
                "[a] * advantage); critic_loss = vf_coef * mean_valid(0.5 * (v - target.detach())^2).",
        key_hints={"d actor_loss / d v": "the actor loss sends gradient into v: detach the advantage.",
                   "d actor_loss / d target": "the actor loss sends gradient into the target: "
                   "detach the advantage.",
                   "d critic_loss / d target": "the critic loss sends gradient into the target: "
                   "use target.detach().",
                   "d critic_loss / d logits": "the critic loss must not depend on the logits."},
    ), fn)


# --------------------------------------------------------------------------- 4. baseline lemma


_SIGMAS = 4.0  # how many standard errors a Monte Carlo estimate may be off


def _bl_call(fn, pi, score, b, n, seed, case_words, index, total, notes):
    """Call the student's estimator; return a float64 [d] tensor or raise CheckFailed."""
    spec = _Spec("baseline_lemma_mc", None, [_Case(case_words, {})], None, [], "")
    st = _Student(spec, fn, 0, notes)
    st.header = lambda: (f"baseline_lemma_mc: check {index} of {total} failed.\n"
                         f"  case: {case_words}\n"
                         f"  inputs: pi_s = {_fmt(pi)}; score_s = {_fmt(score)}; b = {_num(b)}; "
                         f"n = {n}; generator seeded with {seed}")
    g = torch.Generator().manual_seed(seed)
    args = [pi.clone(), score.clone(), b, n, g]
    st.case = _Case(case_words, dict(pi_s=args[0], score_s=args[1], b=b, n=n, generator=g))
    out = st.call(args)
    like = torch.zeros(score.shape[1], dtype=torch.float64)
    if isinstance(out, Tensor) and out.shape == (score.shape[0],) and score.shape[0] != score.shape[1]:
        raise st.fail(f"a tensor of {_shape(like)} (one number per parameter, d = {score.shape[1]})",
                      f"{_shape(out)}, one number per action",
                      "you averaged something per action (pi itself, or the score summed over "
                      "its parameters). The estimate is the mean over the n sampled actions a_i "
                      "of score_s[a_i] * b, a vector of length d.")
    return st, st.tensor(out, like, "the estimate")


def _bl_problem():
    """A 3-action softmax policy with 2 parameters per action: pi, its true score, and a
    non-score matrix f (sum_a pi(a) f(a) != 0)."""
    pi = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)
    phi = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    score = phi - pi @ phi          # grad_theta log pi(a) for pi = softmax(phi theta)
    f = torch.tensor([[1.0, -0.5], [2.0, 1.0], [-1.0, 3.0]], dtype=torch.float64)
    return pi, score, f


def baseline_lemma_mc(fn: Callable) -> None:
    """Check ``fn(pi_s, score_s, b, n, generator) -> [d]``, the Monte Carlo estimate of
    ``E_{a ~ pi}[score(a) * b]``: sample ``a_1..a_n`` with
    ``torch.multinomial(pi_s, n, replacement=True, generator=generator)``, average
    ``score_s[a_i] * b``.

    The true value is 0 for a real score, so the check also feeds a matrix that is not a
    score (its pi-weighted mean is not 0) and tests the estimate statistically, with fixed
    seeds: within 4 standard errors of the exact expectation, a spread over repetitions that
    matches the theoretical standard error (which catches an exact, non-random computation,
    and one action used for every sample), the standard error shrinking like 1/sqrt(n), and
    the same result for the same seed.
    """
    if not callable(fn):
        raise CheckFailed("baseline_lemma_mc: expected a function, got "
                          f"{type(fn).__name__}: pass the function itself, without calling it.")
    pi, score, f = _bl_problem()
    notes: set[str] = set()
    total = 5

    # 1. same seed, same answer
    words = "two calls with generators seeded alike (seed 0), n = 100, b = 2.5"
    st, e1 = _bl_call(fn, pi, f, 2.5, 100, 0, words, 1, total, notes)
    _, e2 = _bl_call(fn, pi, f, 2.5, 100, 0, words, 1, total, notes)
    if not torch.equal(e1, e2):
        raise st.fail(f"the same estimate twice, {_fmt(e1)}", f"{_fmt(e2)} the second time",
                      "sample with the generator you are given: torch.multinomial(pi_s, n, "
                      "replacement=True, generator=generator); without it the global random "
                      "state is used and results cannot be reproduced.")

    # 2. unbiased for a non-score matrix, against the exact expectation
    b, n = 2.5, 4000
    words = (f"a matrix f that is NOT a score (sum_a pi(a) f(a) != 0), b = {b}, n = {n}: the "
             f"estimate must be within {_SIGMAS:g} standard errors of b * sum_a pi(a) f(a)")
    st, est = _bl_call(fn, pi, f, b, n, 1, words, 2, total, notes)
    exact = b * (pi @ f)
    var = (pi[:, None] * (b * f - exact) ** 2).sum(0)      # per-coordinate variance of one sample
    se = (var / n).sqrt()
    if ((est - exact).abs() > _SIGMAS * se).any():
        wrong = [
            (pi @ f, "you did not multiply by b: the estimate is the mean of score(a_i) * b."),
            (b * f.mean(0), "every action weighed the same: sample the actions from pi_s "
                            "(torch.multinomial), do not average over the action set."),
            (b * (pi @ f) * n, "you summed over the samples; take the mean (divide by n)."),
            (-exact, "wrong sign: the estimate is the mean of + score(a_i) * b."),
        ] + [(b * f[a], "your estimate is exactly b * score_s[a] for one action a: the same "
                        "action was used for every sample. Draw n actions at once with "
                        "torch.multinomial(pi_s, n, replacement=True, generator=generator).")
             for a in range(f.shape[0])]
        unif = b * f.mean(0)
        hint = None
        if ((est / n - exact).abs() <= _SIGMAS * se).all():
            hint = "you summed over the samples; take the mean (divide by n)."
        for value, h in wrong:
            if hint is not None:
                break
            if ((est - value).abs() <= _SIGMAS * se + 1e-9 + 1e-3 * value.abs()).all():
                hint = h
                break
        if hint is None and ((est - unif).abs() <= 0.2 * unif.abs().max()).all():
            hint = wrong[1][1]
        if hint is None:
            hint = ("draw a = torch.multinomial(pi_s, n, replacement=True, generator=generator), "
                    "then return (score_s[a] * b).mean(0): one row of score_s per sampled action.")
        raise st.fail(f"about {_fmt(exact)} (within {_SIGMAS:g} SE = {_fmt(_SIGMAS * se)})",
                      _fmt(est), hint)

    # 3. the spread over repetitions is the Monte Carlo standard error
    reps, n = 150, 40
    words = (f"{reps} repetitions (seeds 1000..{1000 + reps - 1}) with b = {b}, n = {n}: the "
             f"spread of the estimates should match the theoretical standard error")
    ests = []
    for k in range(reps):
        st, e = _bl_call(fn, pi, f, b, n, 1000 + k, words, 3, total, notes)
        ests.append(e)
    ests = torch.stack(ests)
    got_sd = float(ests.var(0).sum().sqrt())
    want_sd = float((var / n).sum().sqrt())
    if not 0.75 <= got_sd / want_sd <= 1.33:
        if got_sd < 1e-12:
            hint = ("your estimate does not vary at all with the seed: it is not a Monte Carlo "
                    "estimate. Sample n actions and average score_s[a_i] * b over them.")
        elif got_sd > 2.0 * want_sd:
            hint = ("your estimate varies as much as a single sample: are all n samples the same "
                    "action (one draw repeated)? Draw n actions at once with "
                    "torch.multinomial(pi_s, n, replacement=True, generator=generator).")
        else:
            hint = ("average over all n samples: the standard error of a mean of n independent "
                    "samples is sd / sqrt(n).")
        raise st.fail(f"a spread (sqrt of the summed variances) of about {want_sd:.4f}",
                      f"{got_sd:.4f}", hint)

    # 4. with the true score, the expectation is 0 whatever b
    b = 10.0
    for n, seed in ((100, 7), (1600, 8)):
        words = (f"the true score of a softmax policy, b = {b:g}, n = {n}: by the baseline lemma "
                 f"E[score(a) * b] = 0, so the estimate must be within {_SIGMAS:g} SE of 0")
        st, est = _bl_call(fn, pi, score, b, n, seed, words, 4, total, notes)
        var0 = (pi[:, None] * (b * score) ** 2).sum(0)
        se0 = (var0 / n).sqrt()
        if (est.abs() > _SIGMAS * se0).any():
            raise st.fail(f"0 within {_SIGMAS:g} SE = {_fmt(_SIGMAS * se0)}", _fmt(est),
                          "sample a ~ pi_s with torch.multinomial and average score_s[a] * b; "
                          "with the score of the policy itself the mean is 0.")

    # 5. the standard error shrinks like 1 / sqrt(n)
    sds = []
    reps = 100
    for n in (10, 160):
        words = (f"the true score, b = {b:g}: {reps} repetitions each with n = 10 and n = 160; "
                 f"the spread must shrink by about sqrt(160 / 10) = 4")
        es = []
        for k in range(reps):
            st, e = _bl_call(fn, pi, score, b, n, 5000 + k, words, 5, total, notes)
            es.append(e)
        sds.append(float(torch.stack(es).var(0).sum().sqrt()))
    ratio = sds[0] / max(sds[1], 1e-300)
    if not 2.8 <= ratio <= 5.7:
        raise st.fail("the spread to shrink by a factor of about 4 (between 2.8 and 5.7)",
                      f"a factor {ratio:.2f} (spreads {sds[0]:.4f} and {sds[1]:.4f})",
                      "the estimate must be the mean of n independent samples, so its standard "
                      "error falls like 1 / sqrt(n).")
    tail = "".join(f" Note: {x}." for x in sorted(notes))
    print(f"baseline_lemma_mc: all {total} checks passed (statistical, fixed seeds, "
          f"tolerance {_SIGMAS:g} standard errors).{tail}")


# --------------------------------------------------------------------------- experiments


def _number(name: str, answer: Any) -> float:
    if isinstance(answer, bool):
        raise CheckFailed(f"{name}: expected a number, got {answer!r}.")
    try:
        if isinstance(answer, str):
            from fractions import Fraction
            return float(Fraction(answer.strip()))
        return float(answer)
    except (TypeError, ValueError, ZeroDivisionError):
        raise CheckFailed(f"{name}: expected a number (e.g. 16, or 0.25), got {answer!r}.") from None


def batch_size_experiment(answer: Any) -> None:
    """Check the answer to: "by what factor does the total variance of the REINFORCE gradient
    estimate shrink when the batch size B goes from 4 to 64 episodes?"

    Accepted: any number from 12 to 21. Theory says 16, since the estimate is a mean over B
    independent episodes and Var ~ 1/B; notebook 5's measurement (K = 500) gives about 15.5,
    and its own noise is a few percent, so 12 to 21 leaves room for another seed, not for
    another reading of the table.
    """
    name = "batch_size_experiment"
    x = _number(name, answer)
    if 12.0 <= x <= 21.0:
        print(f"{name}: right. The variance shrinks by about 64 / 4 = 16: the estimate is a mean "
              f"over B independent episodes, so Var ~ 1 / B (the standard deviation only by "
              f"sqrt(16) = 4).")
        return
    base = (f"{name}: expected a factor between 12 and 21 (the variance at B = 4 divided by "
            f"the variance at B = 64), got {_num(x)}.")
    if 0 < x <= 1.0:
        hint = ("a number at most 1 is the inverse ratio (variance at 64 / variance at 4). The "
                "question asks how many times smaller the variance gets: Var(B=4) / Var(B=64).")
    elif 2.5 <= x < 8.0:
        hint = ("about 4 is the ratio of the standard deviations (or of the error bars): the "
                "variance is their square. With Var ~ 1/B, going from 4 to 64 episodes divides "
                "the variance by 64 / 4.")
    elif 8.0 <= x < 12.0 or 21.0 < x <= 32.0:
        hint = ("close to 16, but further from it than the noise of this measurement (a few "
                "percent): check that you divide the B = 4 row by the B = 64 row of REINFORCE.")
    elif 32.0 < x <= 80.0:
        hint = ("more than 32: did you read the difference of the batch sizes (64 - 4 = 60) or "
                "a single noisy point? The estimate is a mean over B episodes: Var ~ 1 / B.")
    elif x > 80.0:
        hint = ("far too large (256 would be the square of 16): the variance of a mean of B "
                "independent terms is Var / B, so it falls in proportion to B, not B^2.")
    else:
        hint = "the factor is positive: Var(B=4) / Var(B=64)."
    raise CheckFailed(f"{base}\n  hint: {hint}")


def gamma_experiment(answer: Any) -> None:
    """Check the answer to: "when gamma goes from 0.9 to 0.99, does the variance of the
    REINFORCE gradient estimate grow or shrink?" (answer "grows" or "shrinks").

    It grows: G_t weighs the rewards of about 1 / (1 - gamma) future steps (10 -> 100) when
    episodes are long. The rewards R(s, a) are fixed numbers, but which states and actions
    follow, and when the episode ends, are random: G_t takes in more of that randomness.
    """
    name = "gamma_experiment"
    text = str(answer).strip().lower()
    grows = {"grows", "grow", "increases", "increase", "larger", "up", "bigger", "higher", "more"}
    shrinks = {"shrinks", "shrink", "decreases", "decrease", "smaller", "down", "lower", "less"}
    if text in grows:
        print(f"{name}: right. The variance grows: a larger gamma lets G_t weigh more of the "
              f"random future (which states and actions follow, and when the episode ends), "
              f"not just the next few steps.")
        return
    if text in shrinks:
        raise CheckFailed(f"{name}: expected 'grows', got {answer!r}.\n  hint: a larger gamma "
                          f"weighs rewards further in the future, and the future is random "
                          f"(which states and actions follow, and when the episode ends), so G_t "
                          f"and the gradient terms spread more, not less.")
    raise CheckFailed(f"{name}: expected 'grows' or 'shrinks', got {answer!r}.")


def claim(name: str, ok: bool, detail: str = "") -> None:
    """Print ``name: detail: ok`` when a numeric claim of a notebook holds; raise CheckFailed
    otherwise. Keep ``detail`` deterministic (rounded numbers): nbval compares it."""
    text = f"{name}: {detail}" if detail else name
    if bool(ok):
        print(f"{text}: ok")
        return
    raise CheckFailed(f"claim failed: {text}")

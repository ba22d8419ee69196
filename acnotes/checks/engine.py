"""The checking engine: call the student's function on each case, compare with the
reference, and name the known mistake that explains a wrong result.

A checker is a :class:`_Spec` (cases, reference, mistakes, hints) handed to :func:`_run`.
While the student's function runs, the package's own implementations are off limits
(:mod:`acnotes.checks.tripwire`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from .tripwire import UsedTheReference, forbid_references


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
            with forbid_references([self.spec.reference] if self.spec.reference else []):
                out = self.fn(*args)
        except UsedTheReference as exc:
            raise CheckFailed(
                f"{self.spec.name}: your function calls {exc}, the package's own implementation: "
                f"implement it yourself, with torch operations (that is the exercise)."
            ) from None
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


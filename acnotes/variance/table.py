"""``VarianceTable``: the rows of a measurement or a sweep, with CSV, JSON and HTML output."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from torch import Tensor

from .._files import write_text
from .stats import gradient_stats

__all__ = ["VarianceTable"]


@dataclass
class VarianceTable:
    """The result of a measurement or a sweep: one row (a dict) per estimator and setting.

    ``rows``: the statistics of ``gradient_stats`` plus the settings (``estimator``,
    ``label``, ``env``, ``K``, ``B``, ``gamma``, ``lam``, ``n``, ``discount_actor``,
    ``critic_noise``, ``seconds``). ``grads``: the K x d estimates of each row (numpy,
    same order as ``rows``), for histograms and scatter plots. ``reference``: the gradient
    each row is compared with. ``meta``: how the reference was obtained, and the like.

    ``table["a2c"]`` is the (first) row of that estimator; ``table.column("variance")`` a
    list; ``table.select(B=16)`` the rows that match.
    """

    rows: list[dict] = field(default_factory=list)
    grads: list[np.ndarray] = field(default_factory=list)
    references: list[np.ndarray] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self.rows[key]
        for r in self.rows:
            if r["estimator"] == key:
                return r
        raise KeyError(f"no row for estimator {key!r}; rows: {sorted({r['estimator'] for r in self.rows})}")

    @property
    def columns(self) -> list[str]:
        cols: list[str] = []
        for r in self.rows:
            cols.extend(c for c in r if c not in cols)
        return cols

    def column(self, name: str) -> list:
        return [r.get(name) for r in self.rows]

    def select(self, **equal) -> "VarianceTable":
        """The rows whose fields equal the given values, e.g. ``select(estimator="gae")``."""
        keep = [i for i, r in enumerate(self.rows) if all(r.get(k) == v for k, v in equal.items())]
        return VarianceTable([self.rows[i] for i in keep], [self.grads[i] for i in keep],
                             [self.references[i] for i in keep], dict(self.meta))

    def add(self, row: dict, grads, reference) -> None:
        """Append one row with its K x d estimates and its reference gradient (tensors or arrays)."""
        self.rows.append(row)
        self.grads.append(np.asarray(grads))
        self.references.append(np.asarray(reference))

    def add_estimates(self, est, grads: Tensor, reference: Tensor, seconds: float,
                      reference_cov_trace: float = 0.0, **settings) -> None:
        """Append the row of estimator ``est`` (an ``acnotes.estimators.Estimator``): its name
        and label, the ``settings`` (env, K, B, gamma, ...), the ``gradient_stats`` of its
        K x d ``grads`` against ``reference``, and the ``seconds`` they took."""
        row = dict(estimator=est.name, label=est.label, **settings)
        row.update(gradient_stats(grads, reference, reference_cov_trace=reference_cov_trace))
        row["seconds"] = seconds
        self.add(row, grads, reference)

    def extend(self, other: "VarianceTable") -> "VarianceTable":
        self.rows += other.rows
        self.grads += other.grads
        self.references += other.references
        for k, v in other.meta.items():
            self.meta.setdefault(k, v)
        return self

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict:
        """``{"meta": ..., "columns": [...], "rows": [{...}, ...]}``: plain JSON-able data
        (the raw estimates are left out; they are in ``.grads``)."""
        return {"meta": _jsonable(self.meta), "columns": self.columns, "rows": _jsonable(self.rows)}

    def to_json(self, path: str | Path) -> Path:
        """Write the table as JSON, atomically (the old file or the new one, never half)."""
        return write_text(path, json.dumps(self.to_dict(), indent=1))

    def to_csv(self, path: str | Path) -> Path:
        """Write the table as CSV, atomically."""
        cols = self.columns
        buf = io.StringIO(newline="")
        w = csv.DictWriter(buf, fieldnames=cols)
        w.writeheader()
        for r in self.rows:
            w.writerow({c: r.get(c, "") for c in cols})
        return write_text(path, buf.getvalue())

    # ------------------------------------------------------------------ display
    _SHOW = ("estimator", "B", "gamma", "lam", "variance", "relative_variance", "bias",
             "bias_ratio", "mse", "cosine")

    def _fmt(self, v) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    def __repr__(self) -> str:
        if not self.rows:
            return "VarianceTable(empty)"
        cols = [c for c in self._SHOW if c in self.columns]
        cells = [[self._fmt(r.get(c, "")) for c in cols] for r in self.rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
        line = lambda xs: "  ".join(x.rjust(w) for x, w in zip(xs, widths))
        head = f"VarianceTable: {self.meta.get('env', '')}, reference = {self.meta.get('reference', '')}"
        return "\n".join([head, line(cols)] + [line(c) for c in cells])

    def _repr_html_(self) -> str:
        cols = [c for c in self._SHOW if c in self.columns]
        head = "".join(f"<th>{c}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{self._fmt(r.get(c, ''))}</td>" for c in cols) + "</tr>"
                       for r in self.rows)
        cap = f"{self.meta.get('env', '')}; reference: {self.meta.get('reference', '')}"
        return f"<table><caption>{cap}</caption><tr>{head}</tr>{body}</table>"


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.generic,)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x

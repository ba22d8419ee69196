"""The spec of a sweep: algorithms x a grid of Config fields x seeds, parsed and checked.

``Spec.build(...)`` (or ``load_spec(file)``) turns the command line's ``--grid``, ``--seeds``
and ``--set`` (or a YAML/JSON file) into the list of members, one Config each, and checks
every one before anything runs.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import _validate
from ..config import Config
from ..history import SOLVED, solved_threshold

CONFIG_FIELDS = [f.name for f in dataclasses.fields(Config)]
_TYPES = {f.name: str(f.type) for f in dataclasses.fields(Config)}

# --------------------------------------------------------------------------- parsing values


def _scalar(name: str, text: str, option: str = "--grid"):
    """One value of field ``name`` from text, by the field's type (``option``: where it was
    given, for the error)."""
    kind = _TYPES[name]
    t = text.strip()
    if kind.endswith("| None") and t.lower() in ("none", ""):
        return None
    try:
        if kind.startswith("int"):
            return int(t)
        if kind.startswith("float"):
            return float(t)
    except ValueError:
        raise ValueError(f"{option} {name}: {t!r} is not a number") from None
    if kind == "bool":
        if t.lower() in ("1", "true", "yes", "on"):
            return True
        if t.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{option} {name}: expected true or false, got {t!r}")
    return t


def _range(name: str, text: str) -> list:
    """``lo:hi:N`` (N evenly spaced values), ``lo:hi:Nlog`` (N log-spaced values)."""
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"--grid {name}: a range is LO:HI:N or LO:HI:Nlog (e.g. 1e-4:1e-2:5log), got {text!r}")
    lo, hi, n = (p.strip() for p in parts)
    log = n.lower().endswith("log")
    n = n[:-3] if log else n
    try:
        lo_v, hi_v, count = float(lo), float(hi), int(n)
    except ValueError:
        raise ValueError(f"--grid {name}: a range is LO:HI:N or LO:HI:Nlog with numbers, got {text!r}") from None
    if count < 1:
        raise ValueError(f"--grid {name}: a range needs N >= 1 values, got {text!r}")
    if log and (lo_v <= 0 or hi_v <= 0):
        raise ValueError(f"--grid {name}: a log range needs LO and HI > 0, got {text!r}")
    xs = np.geomspace(lo_v, hi_v, count) if log else np.linspace(lo_v, hi_v, count)
    if _TYPES[name].startswith("int"):
        return sorted({int(round(x)) for x in xs})
    return [float(f"{x:.6g}") for x in xs]  # 1e-4:1e-2:5log -> 0.0001, 0.000316228, ...


def parse_values(name: str, spec, option: str = "--grid") -> list:
    """The values of one grid field: a list, one value, ``"a,b,c"``, ``"lo:hi:N"`` or
    ``"lo:hi:Nlog"``. ``option`` (``--grid`` or ``--set``) is named in the errors."""
    if name not in CONFIG_FIELDS:
        raise ValueError(f"{option}: unknown field {name!r}; valid fields: {', '.join(CONFIG_FIELDS)}")
    if name == "seed":
        raise ValueError(f"{option} seed: give the seeds with --seeds (e.g. --seeds 0-29)")
    if isinstance(spec, str):
        items = [s for s in spec.split(",") if s.strip()]
        out = []
        for s in items:
            out.extend(_range(name, s) if ":" in s else [_scalar(name, s, option)])
    elif isinstance(spec, (list, tuple)):
        out = [_scalar(name, v, option) if isinstance(v, str) else v for v in spec]
    else:
        out = [spec]
    if not out:
        raise ValueError(f"--grid {name}: the grid is empty; give at least one value (e.g. {name}=0.9,0.99)")
    dup = [v for i, v in enumerate(out) if v in out[:i]]
    if dup:
        raise ValueError(f"--grid {name}: {dup[0]!r} is listed twice")
    return out


def parse_grid_option(text: str) -> tuple[str, list]:
    """``"gamma=0.9,0.99"`` -> ``("gamma", [0.9, 0.99])``."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--grid expects FIELD=VALUES (e.g. gamma=0.9,0.99 or lr=1e-4:1e-2:5log), got {text!r}")
    name = name.strip().replace("-", "_")
    return name, parse_values(name, values)


def parse_seeds(spec) -> list[int]:
    """``"0-29"``, ``"0,3,7"``, ``"0-4,10"``, an int N (seeds 0..N-1 is *not* meant: one seed) or a list."""
    if isinstance(spec, str):
        out = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            lo, dash, hi = part.partition("-")
            try:
                if not part.isascii():
                    raise ValueError(part)
                ends = [int(lo), int(hi)] if dash else [int(lo)]
            except ValueError:
                raise ValueError(f"--seeds: expected integers or ranges such as 0-29, got {part!r}") from None
            for v in ends:  # before making a range of them: 0-2**70 would never end
                if not 0 <= v <= _validate.MAX_SEED:
                    raise ValueError(f"--seeds must be integers in [0, {_validate.MAX_SEED}], got {v} in {part!r}")
            out.extend(range(ends[0], ends[-1] + 1))
    elif isinstance(spec, int) and not isinstance(spec, bool):
        out = [spec]
    else:
        out = spec
    try:
        return _validate.seeds("--seeds", out)
    except _validate.BadValue as e:
        raise ValueError(str(e)) from None


# --------------------------------------------------------------------------- the spec


@dataclass
class Spec:
    """What a sweep trains: ``algos`` x product of ``grid`` x ``seeds``, on top of ``fixed``.

    ``algos``: preset names (``acnotes.presets``) or estimator names (their defaults).
    ``grid``: {Config field: [values]}; ``fixed``: {Config field: value} for every member;
    ``threshold``: the return counted as solved in ``steps_to_target`` (default: the members'
    env's, ``history.solved_threshold``: 475 on CartPole-v1, -200 on Pendulum-v1).
    """

    algos: list[str]
    grid: dict[str, list] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    fixed: dict = field(default_factory=dict)
    threshold: float = SOLVED

    @classmethod
    def build(cls, algos, grid=None, seeds=(0,), fixed=None, threshold: float | None = None) -> "Spec":
        """Parse and check every part; ``grid`` values may be lists or strings (see ``parse_values``)."""
        from ..estimators import ESTIMATORS
        from ..presets import PRESETS

        if isinstance(algos, str):
            algos = [a.strip() for a in algos.split(",") if a.strip()]
        algos = list(algos or [])
        if not algos:
            raise ValueError("--algos: give at least one algorithm or preset (e.g. --algos a2c,tdac)")
        for a in algos:
            if a not in PRESETS and a not in ESTIMATORS:
                raise ValueError(f"--algos: {a!r} is neither a preset ({', '.join(PRESETS)}) "
                                 f"nor an algorithm ({', '.join(ESTIMATORS)})")
        if len(set(algos)) != len(algos):
            raise ValueError(f"--algos: an algorithm is listed twice in {algos}")
        grid = {str(k).replace("-", "_"): parse_values(str(k).replace("-", "_"), v) for k, v in (grid or {}).items()}
        fixed = dict(fixed or {})
        for k in fixed:
            if k not in CONFIG_FIELDS or k in ("seed", "algo"):
                raise ValueError(f"fixed setting {k!r} is not a Config field one can fix "
                                 f"(seeds come from --seeds, algorithms from --algos)")
        if "algo" in grid:
            raise ValueError("--grid algo: give the algorithms with --algos")
        both = sorted(set(grid) & set(fixed))
        if both:
            raise ValueError(f"{both[0]} is both fixed and in the grid; choose one")
        spec = cls(algos=algos, grid=grid, seeds=parse_seeds(seeds), fixed=fixed)
        envs = sorted({cfg.env for _, cfg in spec.members()})  # validates every Config
        if threshold is None:
            if len(envs) > 1:
                raise ValueError(f"--threshold: the members train on {' and '.join(envs)}, whose solved "
                                 f"returns differ; give one threshold, or sweep each env apart")
            threshold = solved_threshold(envs[0])
        spec.threshold = _validate.number("threshold", threshold)
        return spec

    def points(self) -> list[dict]:
        """Every grid point, in order (the last field varies fastest)."""
        names = list(self.grid)
        return [dict(zip(names, vals)) for vals in itertools.product(*(self.grid[n] for n in names))]

    def members(self) -> list[tuple[str, Config]]:
        """(algorithm, Config) of every member, validated; the error names the grid point."""
        from ..presets import PRESETS

        out = []
        for algo in self.algos:
            base = dict(PRESETS[algo]) if algo in PRESETS else {"algo": algo}
            base.update(self.fixed)
            for point in self.points():
                settings = {**base, **point}
                try:
                    cfg = Config(**settings).validate()
                except ValueError as e:
                    where = ", ".join(f"{k}={v}" for k, v in point.items()) or "(no grid)"
                    raise ValueError(f"grid point {algo}: {where}: {e}") from None
                out.extend((algo, cfg.replace(seed=s)) for s in self.seeds)
        return out

    def to_dict(self) -> dict:
        """The spec as stored in sweep.json. The grid is a list of [field, values] pairs: its
        order fixes the members' order, so two grids in another order are different sweeps."""
        return {"algos": self.algos, "grid": [[k, v] for k, v in self.grid.items()], "seeds": self.seeds,
                "fixed": self.fixed, "threshold": self.threshold}


def load_spec(path: str | Path) -> dict:
    """The keyword arguments of ``Spec.build`` from a YAML or JSON file.

    Keys: ``algos`` (list or "a2c,tdac"), ``grid`` ({field: list or "lo:hi:Nlog"}),
    ``seeds`` ("0-29" or a list), ``fixed`` ({field: value}), ``threshold``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ValueError(f"--spec {path}: cannot be read ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"--spec {path} is not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ValueError("--spec: reading YAML needs pyyaml (pip install pyyaml), or give a .json file") from None
        try:
            d = yaml.load(text, Loader=_unique_keys_loader(yaml))
        except _DuplicateKey as e:
            raise ValueError(f"--spec {path}: the key {e.key!r} is given twice (line {e.line}); keep one") from None
        except yaml.YAMLError as e:
            raise ValueError(f"--spec {path} is not valid YAML: {e}") from None
    else:
        try:
            d = json.loads(text, object_pairs_hook=_unique_keys)
        except json.JSONDecodeError as e:
            raise ValueError(f"--spec {path} is not valid JSON ({e}); YAML files must end in .yaml") from None
        except _DuplicateKey as e:
            raise ValueError(f"--spec {path}: the key {e.key!r} is given twice; keep one") from None
    keys = {"algos", "grid", "seeds", "fixed", "threshold"}
    if not isinstance(d, dict) or set(d) - keys:
        extra = sorted(set(d) - keys) if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"--spec {path}: expected a mapping with keys {sorted(keys)}, found {extra}")
    return d




class _DuplicateKey(Exception):
    """A mapping in a spec file gives a key twice (the parsers would silently keep the last)."""

    def __init__(self, key, line=None):
        super().__init__(key)
        self.key, self.line = key, line


def _unique_keys(pairs):
    """``object_pairs_hook`` for json.loads: a dict, refusing a key given twice."""
    d = {}
    for k, v in pairs:
        if k in d:
            raise _DuplicateKey(k)
        d[k] = v
    return d


def _unique_keys_loader(yaml):
    """yaml's SafeLoader (no Python objects), refusing a key given twice in a mapping."""
    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise _DuplicateKey(key, key_node.start_mark.line + 1)
                seen.add(key)
            except TypeError:  # an unhashable key: the constructor reports it
                pass
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return Loader

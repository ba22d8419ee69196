"""The static scan of the code a student wrote: what a graded cell may not do.

A checker runs in the student's own kernel, so anything the student's code can reach, it can
change: the checker, the tripwire, ``CheckFailed``, the profile hook, ``torch.allclose``. The
grade therefore does not rest on the kernel alone. Before a submission runs (in nbgrader's
autograde, :mod:`acnotes.grading`, and in ``python -m acnotes check``), every cell the student
wrote or changed is parsed with :mod:`ast`, outside the kernel, and a cell that does any of
the following is not run and fails the exercise it belongs to:

* imports anything but a short list of numeric modules (``torch``, ``numpy``, ``math``, ...):
  so no ``acnotes`` (its reference implementations and checkers), ``sys`` (``setprofile``,
  ``settrace``, ``modules``, ``excepthook``), ``os`` (``_exit``, files), ``inspect``,
  ``importlib``, ``pickle``, ``threading``, ``subprocess``, ``multiprocessing``, ``builtins``,
  ``gc``, ``ctypes``, ``IPython``;
* uses the notebook's ``acn`` / ``acnotes`` names at all;
* calls ``exec``, ``eval``, ``compile``, ``__import__``, ``open``, ``getattr`` / ``setattr``
  / ``delattr``, ``globals``, ``locals``, ``vars``, ``get_ipython``, ``breakpoint``, ...;
* touches a dunder or private name or attribute (``__code__``, ``__globals__``,
  ``__builtins__``, ``__dict__``, ``__class__``, ``_scan``, ``torch._C``, ...);
* reaches the loaders and escape hatches of torch and numpy (``torch.load``, ``np.load``,
  ``torch.jit``, ``torch.hub``, ``torch.multiprocessing``, ``torch.utils``, ...);
* reaches a module or the IPython shell through an attribute (``torch.builtins``,
  ``torch.sys``, ``typing.sys``, ``torch.importlib``, ``.get_ipython``, ``.f_locals``: every
  standard-library module name but the allowed imports and a few names that are also numeric
  functions, such as ``array`` and ``copy``);
* assigns or deletes an attribute, on any object (``torch.allclose = ...``, ``self.x = ...``),
  or rebinds a Python builtin (``AssertionError = ...``, ``def print(...)``);
* is not plain Python (IPython magics ``%...`` and shell commands ``!...``).

The exercises need none of this: a solution is a few lines of torch. The rules are a
blocklist of names and an allowlist of imports, checked on the syntax tree; what they do not
cover (a program that is clean by these rules and still wrong) is left to the hidden tests.
"""

from __future__ import annotations

import ast
import builtins
import sys

__all__ = ["ALLOWED_IMPORTS", "scan_source"]

ALLOWED_IMPORTS = frozenset({"torch", "numpy", "math", "cmath", "random", "itertools", "functools",
                             "collections", "statistics", "typing", "dataclasses", "operator",
                             "matplotlib", "fractions", "decimal"})
# submodules of the allowed ones that load files, pickle, compile or start processes
_BAD_SUBMODULES = frozenset({"torch.utils", "torch.jit", "torch.hub", "torch.package",
                             "torch.multiprocessing", "torch.distributed", "torch.compiler",
                             "torch.library", "torch.serialization", "torch.ops", "torch.fx",
                             "numpy.lib", "numpy.ctypeslib", "numpy.f2py", "numpy.testing",
                             "numpy.distutils", "matplotlib.pyplot.savefig"})
_NAMES = frozenset({"acn", "acnotes", "exec", "eval", "compile", "open", "getattr", "setattr",
                    "delattr", "globals", "locals", "vars", "get_ipython", "breakpoint", "input",
                    "help", "memoryview", "exit", "quit", "display", "In", "Out", "_ih", "_oh",
                    "_i", "_ii", "_iii", "__import__", "__builtins__", "__loader__", "__spec__"})
_ATTRS = frozenset({"load", "loads", "save", "fromfile", "tofile", "loadtxt", "savetxt",
                    "genfromtxt", "memmap", "frombuffer", "jit", "hub", "package", "utils",
                    "multiprocessing", "distributed", "compile", "compiler", "ops", "library",
                    "serialization", "fx", "ctypeslib", "f2py", "testing", "lib", "distutils",
                    "setprofile", "settrace", "modules", "system", "popen", "excepthook",
                    "set_custom_exc", "register_hook", "register_forward_hook",
                    "register_full_backward_hook", "from_file", "storage", "untyped_storage",
                    "data_ptr", "cdll", "func_globals", "gi_frame", "f_globals", "f_back",
                    "tb_frame", "cr_frame", "ag_frame", "attrgetter", "methodcaller"})
# modules reached as attributes of allowed ones (``torch.builtins``, ``torch.sys``,
# ``typing.sys``, ``torch.importlib``, ``torch.inspect``): every standard-library module name
# but the allowed imports and a few names that are also plain numeric functions or methods
_MODULE_ATTRS = frozenset(sys.stdlib_module_names) - ALLOWED_IMPORTS - {
    "array", "copy", "select", "numbers", "string", "time", "bisect", "heapq", "this"}
# the IPython shell and frames, however they are reached
_SHELL_ATTRS = frozenset({"get_ipython", "import_module", "f_locals", "currentframe", "getframe",
                          "getprofile", "gettrace", "input_transformers_post", "input_transformers_cleanup",
                          "ast_transformers", "events", "user_ns", "user_global_ns", "run_cell",
                          "set_hook", "displayhook", "register_magic_function", "kernel", "shell"})
_BUILTINS = frozenset(n for n in dir(builtins) if not n.startswith("_"))


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _private(name: str) -> bool:
    return name.startswith("_") and name != "_"


def _problems(tree: ast.AST, aliases: dict[str, str]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []

    def bad(node, what):
        found.append((getattr(node, "lineno", 0), what))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom):
                if node.level or node.module is None:
                    bad(node, "a relative import")
                    continue
                modules = [node.module]
                for a in node.names:
                    if a.name == "*" or _private(a.name) or a.name in _ATTRS:
                        bad(node, f"`from {node.module} import {a.name}`")
            else:
                modules = [a.name for a in node.names]
            for m in modules:
                top = m.split(".")[0]
                if top not in ALLOWED_IMPORTS:
                    bad(node, f"`import {m}` (only torch, numpy, math and a few standard "
                              f"modules like them may be imported)")
                elif any(m == b or m.startswith(b + ".") for b in _BAD_SUBMODULES) or \
                        any(_private(p) for p in m.split(".")):
                    bad(node, f"`import {m}`")
            for a in node.names:
                if a.asname and (a.asname in _BUILTINS or _private(a.asname)):
                    bad(node, f"an import bound to the name `{a.asname}`")
        elif isinstance(node, ast.Name):
            if node.id in _NAMES:
                bad(node, f"`{node.id}`")
            elif node.id.startswith("__"):
                bad(node, f"the name `{node.id}`")
            if isinstance(node.ctx, (ast.Store, ast.Del)) and (node.id in _BUILTINS or _private(node.id)):
                bad(node, f"a new value for the name `{node.id}`")
        elif isinstance(node, ast.Attribute):
            if _private(node.attr):
                bad(node, f"the attribute `{node.attr}`")
            elif node.attr in _ATTRS or node.attr in _MODULE_ATTRS or node.attr in _SHELL_ATTRS:
                bad(node, f"`.{node.attr}`")
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                bad(node, f"an assignment to the attribute `{_dotted(node) or node.attr}`")
            dotted = _dotted(node)
            if dotted:
                head, _, rest = dotted.partition(".")
                full = f"{aliases.get(head, head)}.{rest}"
                if any(full == b or full.startswith(b + ".") for b in _BAD_SUBMODULES):
                    bad(node, f"`{dotted}`")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name in _BUILTINS or _private(node.name):
                bad(node, f"a new definition of `{node.name}`")
            if isinstance(node, ast.AsyncFunctionDef):
                bad(node, "an async function")
        elif isinstance(node, ast.arg):
            if node.arg in _BUILTINS or node.arg.startswith("__"):
                bad(node, f"a parameter named `{node.arg}`")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bad(node, f"`{type(node).__name__.lower()}`")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                "__" in node.value:
            bad(node, f"the string {node.value!r}")
    return found


def scan_source(source: str) -> list[str]:
    """What is not allowed in one cell of student code, as ``"line N: ..."`` strings; empty
    if the cell passes. A cell that is not plain Python (magics, shell commands, syntax
    errors) fails with one problem."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return [f"line {e.lineno}: not plain Python ({e.msg}); IPython magics (%...) and shell "
                f"commands (!...) are not allowed in graded notebooks"]
    except ValueError as e:   # null bytes
        return [f"not plain Python ({e})"]
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
    seen, out = set(), []
    for line, what in sorted(_problems(tree, aliases)):
        if (line, what) not in seen:
            seen.add((line, what))
            out.append(f"line {line}: {what}")
    return out

"""Which global names a notebook cell reads and assigns: a rough name analysis by ``ast``,
used to find the cells that depend on an exercise stub."""

from __future__ import annotations

import ast
import re

_MAGIC = re.compile(r"^([ \t]*)([%!].*)$", re.M)


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(_MAGIC.sub(r"\1pass", source))
    except SyntaxError:
        return None


def _reads_and_writes(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Global names a statement reads and names it assigns, with a rough idea of scopes:
    inside a function, lambda or comprehension, names bound there are local, so only the
    free ones count as reads (at definition time a function body reads nothing; counting
    its free names is the conservative choice, since calling it later will read them)."""
    reads: set[str] = set()
    writes: set[str] = set()

    def local_scope(nodes, bound: set[str]) -> set[str]:
        r, w = set(), set(bound)
        for n in nodes:
            rr, ww = _reads_and_writes(n)
            r |= rr
            w |= ww
        return r - w

    def visit(node) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = node.args
            params = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
            params |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
            for d in a.defaults + [k for k in a.kw_defaults if k is not None]:
                visit(d)
            if isinstance(node, ast.Lambda):
                reads.update(local_scope([node.body], params))
                return
            for d in node.decorator_list:
                visit(d)
            writes.add(node.name)
            reads.update(local_scope(node.body, params | {node.name}))
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            targets = set()
            for gen in node.generators:
                targets |= _reads_and_writes(gen.target)[1]
            parts = [g.iter for g in node.generators] + [c for g in node.generators for c in g.ifs]
            parts += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            reads.update(local_scope(parts, targets))
        elif isinstance(node, ast.ClassDef):
            writes.add(node.name)
            for n in node.bases + node.keywords + node.decorator_list:
                visit(n)
            reads.update(local_scope(node.body, set()))
        elif isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else writes).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                writes.add((a.asname or a.name).split(".")[0])
        else:
            for child in ast.iter_child_nodes(node):
                visit(child)

    visit(tree)
    return reads, writes


def _stubbed_functions(tree: ast.Module, prefix: str) -> tuple[list[str], bool]:
    """Names of the top-level definitions that contain a stub, and whether a stub sits at the
    top level of the cell (outside any definition). A stub is
    ``raise NotImplementedError("<prefix>...")``."""
    names, top = [], False

    def has_stub(node) -> bool:
        for n in ast.walk(node):
            if (isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call)
                    and isinstance(n.exc.func, ast.Name) and n.exc.func.id == "NotImplementedError"
                    and n.exc.args and isinstance(n.exc.args[0], ast.Constant)
                    and str(n.exc.args[0].value).startswith(prefix)):
                return True
        return False

    for stmt in tree.body:
        if not has_stub(stmt):
            continue
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(stmt.name)
        else:
            top = True
    return names, top

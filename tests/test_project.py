"""The project files agree with each other.

environment.yml (conda) and pyproject.toml (pip) describe the same environment, and the test
command is the same in the Makefile, the README and CI. These tests read the files as text or
data; they import nothing from acnotes.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent

# conda-forge names that differ from the PyPI name of the same package
CONDA_TO_PIP = {"pytorch": "torch", "matplotlib-base": "matplotlib"}
# conda entries that are not Python packages of the project
CONDA_ONLY = {"python", "pip"}


def normalize(name: str) -> str:
    """PEP 503 normalized package name."""
    return re.sub(r"[-_.]+", "-", name).lower()


# --------------------------------------------------------------------------- loaders


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def environment() -> dict:
    with open(ROOT / "environment.yml", encoding="utf-8") as f:
        env = yaml.safe_load(f)
    assert isinstance(env, dict) and isinstance(env.get("dependencies"), list), (
        "environment.yml must be a mapping with a 'dependencies' list"
    )
    return env


def conda_specs(env: dict) -> dict[str, str]:
    """{name: version spec} of the conda (non-pip) dependencies."""
    specs = {}
    for dep in env["dependencies"]:
        if not isinstance(dep, str):
            continue  # the `pip:` mapping
        m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*", dep)
        assert m, f"environment.yml: cannot parse conda dependency {dep!r}"
        specs[m.group(1)] = m.group(2)
    return specs


def pip_section(env: dict) -> list[str]:
    sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml must have exactly one `pip:` section"
    assert all(isinstance(x, str) for x in sections[0]), "the `pip:` section must be a list of strings"
    return sections[0]


def conda_bounds(spec: str) -> tuple[Version | None, Version | None]:
    """(lower, upper) bound of a conda spec such as '>=1.0,<2'; None when absent."""
    lower = upper = None
    for part in filter(None, (p.strip() for p in spec.split(","))):
        m = re.fullmatch(r"(>=|<=|==|!=|>|<|=)?\s*([0-9][0-9A-Za-z.*+!-]*)", part)
        assert m, f"environment.yml: cannot parse version spec {spec!r}"
        op, version = m.group(1) or "==", m.group(2)
        if op == ">=":
            lower = Version(version)
        elif op == "<":
            upper = Version(version)
    return lower, upper


def pip_bounds(req: Requirement) -> tuple[Version | None, Version | None]:
    lower = upper = None
    for spec in req.specifier:
        if spec.operator == ">=":
            lower = Version(spec.version)
        elif spec.operator == "<":
            upper = Version(spec.version)
    return lower, upper


def project_requirements(pyproject: dict) -> dict[str, list[tuple[str, Requirement]]]:
    """{normalized name: [(where, requirement), ...]} over the base dependencies and every extra,
    leaving out the self-references such as acnotes[notebooks]."""
    project = pyproject["project"]
    own = normalize(project["name"])
    found: dict[str, list[tuple[str, Requirement]]] = {}
    groups = {"dependencies": project.get("dependencies", [])}
    for extra, reqs in project.get("optional-dependencies", {}).items():
        groups[f"extra '{extra}'"] = reqs
    for where, reqs in groups.items():
        for text in reqs:
            req = Requirement(text)
            if normalize(req.name) != own:
                found.setdefault(normalize(req.name), []).append((where, req))
    return found


def expand_extra(pyproject: dict, extra: str) -> set[str]:
    """Normalized names installed by `project[extra]`, following self-references."""
    project = pyproject["project"]
    own = normalize(project["name"])
    extras = project.get("optional-dependencies", {})
    names, todo, seen = set(), [extra], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for text in extras.get(current, []):
            req = Requirement(text)
            if normalize(req.name) == own:
                todo.extend(req.extras)
            else:
                names.add(normalize(req.name))
    return names


# --------------------------------------------------------------------------- conda vs pip


def test_python_version_matches(pyproject, environment):
    requires = pyproject["project"]["requires-python"]
    m = re.fullmatch(r"\s*>=\s*(\d+)\.(\d+)(?:\.\d+)?\s*(?:,.*)?", requires)
    assert m, f"pyproject.toml: requires-python {requires!r} should start with '>=MAJOR.MINOR'"
    wanted = f"{m.group(1)}.{m.group(2)}"

    python = conda_specs(environment).get("python")
    assert python is not None, "environment.yml: 'python' is not pinned in dependencies"
    m = re.fullmatch(r"=?=?\s*(\d+)\.(\d+)(?:\.\*|\.\d+)?", python)
    assert m, f"environment.yml: python spec {python!r} should look like 'python=MAJOR.MINOR'"
    got = f"{m.group(1)}.{m.group(2)}"
    assert got == wanted, (
        f"environment.yml pins python={got} but pyproject.toml has requires-python {requires!r}"
    )


def test_every_conda_package_is_a_project_dependency_with_the_same_bounds(pyproject, environment):
    project_reqs = project_requirements(pyproject)
    specs = {n: s for n, s in conda_specs(environment).items() if n not in CONDA_ONLY}
    assert specs, "environment.yml lists no conda packages besides python and pip"
    problems = []
    for conda_name, spec in specs.items():
        name = normalize(CONDA_TO_PIP.get(conda_name, conda_name))
        if name not in project_reqs:
            problems.append(
                f"{conda_name}: in environment.yml but not a dependency of pyproject.toml "
                "(neither base nor any extra)"
            )
            continue
        c_lower, c_upper = conda_bounds(spec)
        for where, req in project_reqs[name]:
            p_lower, p_upper = pip_bounds(req)
            if c_lower != p_lower:
                problems.append(
                    f"{conda_name}: lower bound differs: environment.yml '{conda_name}{spec}' "
                    f"vs pyproject.toml {where} '{req}'"
                )
            if c_upper is not None and p_upper is not None and c_upper != p_upper:
                problems.append(
                    f"{conda_name}: upper bound differs: environment.yml '{conda_name}{spec}' "
                    f"vs pyproject.toml {where} '{req}'"
                )
    assert not problems, "environment.yml and pyproject.toml are out of step:\n  " + "\n  ".join(
        problems
    )


def test_pip_section_installs_the_project_with_dev_extra(environment):
    lines = pip_section(environment)
    editable = [
        m
        for line in lines
        if (m := re.fullmatch(r"""-e\s+["']?\.\[([^\]]*)\]["']?""", line.strip()))
    ]
    assert editable, (
        "environment.yml: the `pip:` section must install the project itself, "
        f"as '-e .[dev]'; it has {lines!r}"
    )
    extras = {e.strip() for e in editable[0].group(1).split(",")}
    assert "dev" in extras, (
        f"environment.yml: the project is installed with extras {sorted(extras)}, expected 'dev'"
    )


def test_dev_extra_covers_every_other_extra(pyproject):
    extras = pyproject["project"].get("optional-dependencies", {})
    assert "dev" in extras, "pyproject.toml: there is no 'dev' extra"
    dev = expand_extra(pyproject, "dev")
    for extra in extras:
        missing = expand_extra(pyproject, extra) - dev
        assert not missing, (
            f"pyproject.toml: the 'dev' extra does not install {sorted(missing)} "
            f"from the '{extra}' extra"
        )


def test_torch_is_in_both_with_the_same_lower_bound(pyproject, environment):
    base = {
        normalize(Requirement(r).name): Requirement(r)
        for r in pyproject["project"].get("dependencies", [])
    }
    assert "torch" in base, "pyproject.toml: torch is not a base dependency"

    pip_reqs = {}
    for line in pip_section(environment):
        if line.startswith("-"):
            continue  # options such as --extra-index-url and -e .
        req = Requirement(line)
        pip_reqs[normalize(req.name)] = req
    in_conda = {normalize(CONDA_TO_PIP.get(n, n)) for n in conda_specs(environment)}
    assert "torch" in pip_reqs or "torch" in in_conda, "environment.yml does not install torch"
    if "torch" in pip_reqs:
        assert pip_bounds(pip_reqs["torch"])[0] == pip_bounds(base["torch"])[0], (
            f"torch lower bound differs: environment.yml '{pip_reqs['torch']}' "
            f"vs pyproject.toml '{base['torch']}'"
        )
        assert any("download.pytorch.org/whl/cpu" in line for line in pip_section(environment)), (
            "environment.yml: the `pip:` section installs torch without the CPU index "
            "(--extra-index-url https://download.pytorch.org/whl/cpu): it would pull the CUDA build"
        )


# --------------------------------------------------------------------------- one test command


def makefile_recipe(target: str) -> list[str]:
    """The commands of a Makefile target, with simple variables expanded."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    variables = {}
    for m in re.finditer(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?::{1,3}|\?|\+)?=[ \t]*(.*?)[ \t]*$", text, re.M):
        variables.setdefault(m.group(1), m.group(2))

    def expand(s: str, depth: int = 0) -> str:
        assert depth < 20, f"Makefile: variables nest too deeply in {s!r}"
        out = re.sub(
            r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]",
            lambda m: variables.get(m.group(1), m.group(0)),
            s,
        )
        return out if out == s else expand(out, depth + 1)

    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(rf"^{re.escape(target)}\s*:(?!=)", line)]
    assert starts, f"Makefile has no '{target}' target"
    recipe = []
    for line in lines[starts[0] + 1 :]:
        if not line.startswith("\t"):
            if line.strip() and not line.lstrip().startswith("#"):
                break
            continue
        command = line.strip().lstrip("@-+").strip()
        if command and not command.startswith("#"):
            recipe.append(" ".join(expand(command).split()))
    assert recipe, f"Makefile: the '{target}' target has no commands"
    return recipe


def test_readme_quotes_the_makefile_test_command():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = "\n".join(re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S))
    assert re.search(r"^\s*make test\s*(#.*)?$", code, re.M), (
        "README.md has no code block with the plain command `make test` on a line of its own"
    )
    readme = " ".join(text.split())
    recipe = makefile_recipe("test")
    pytest_lines = [c for c in recipe if "pytest" in c]
    assert len(pytest_lines) == 1, (
        f"Makefile: the 'test' target should run pytest exactly once; its commands are {recipe}"
    )
    assert "$" not in pytest_lines[0], (
        f"Makefile: could not expand every variable in the 'test' command {pytest_lines[0]!r}"
    )
    quoted = pytest_lines[0] in readme
    assert quoted, (
        "README.md does not quote the command `make test` runs; the Makefile runs:\n"
        f"  {pytest_lines[0]}"
    )


def test_ci_runs_make_test():
    run = ROOT / ".ci" / "run"
    assert run.is_file(), ".ci/run is missing"
    commands = [
        line.split("#", 1)[0] for line in run.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    invokes = [
        c for c in commands
        if re.search(r"(?<![\w-])make\b[^|;&]*?(?<![\w-])test(?![\w-])", c)
        and not re.search(r"\b(echo|printf|say)\b", c.split("make")[0])
    ]
    assert invokes, ".ci/run never runs `make test` (the test command the README gives)"

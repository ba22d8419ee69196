"""Notebook 10, the case study of the blog post's TD Actor-Critic: its reconstruction of the
post's code says that it is one, and its bugs are numbered once, in reading order, under the
three kinds the notebook names (crashes, silent bugs, conceptual bugs), each number used by
the listing, the table and a section of its own."""

from __future__ import annotations

import json
import re
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "10-case-study-blog-td-ac.ipynb"
KINDS = ("## Crashes", "## Silent bugs", "## Conceptual bugs")


def _markdown(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def structure(nb: dict) -> dict:
    """What the checks read: the listing, the table's (kind, bug) rows, and the bug sections
    in reading order with the kind each sits under."""
    cells = _markdown(nb)
    listing = next((c for c in cells if "```python" in c and "gy.make" in c), "")
    table = [(kind, int(n)) for c in cells for kind, n in
             re.findall(r"^\| (crash|silent|conceptual) \| (\d+) \|", c, flags=re.MULTILINE)]
    kind, sections = None, []
    for c in cells:
        for line in c.splitlines():
            if line.startswith(KINDS):
                kind = KINDS.index(next(k for k in KINDS if line.startswith(k)))
            m = re.match(r"### Bug (\d+):", line)
            if m:
                sections.append((kind, int(m.group(1))))
    return dict(listing=listing, table=table, sections=sections)


def problems(nb: dict) -> list[str]:
    s = structure(nb)
    bad = []
    if not s["listing"].splitlines()[1:2] or "RECONSTRUCTION" not in s["listing"].splitlines()[1]:
        bad.append("the listing's first line does not say it is a reconstruction")
    numbers = [n for _, n in s["sections"]]
    if numbers != list(range(1, len(numbers) + 1)):
        bad.append(f"bug sections not numbered 1..n in reading order: {numbers}")
    kinds_of_sections = [k for k, _ in s["sections"]]
    if None in kinds_of_sections or kinds_of_sections != sorted(kinds_of_sections):
        bad.append("a bug section sits outside its kind, or the kinds are out of order")
    kinds = {"crash": 0, "silent": 1, "conceptual": 2}
    if [(kinds[k], n) for k, n in s["table"]] != s["sections"]:
        bad.append(f"the table {s['table']} and the sections {s['sections']} disagree")
    in_listing = {int(n) for n in re.findall(r"bugs? (\d+)", s["listing"])}
    if in_listing != set(numbers):
        bad.append(f"the listing names bugs {sorted(in_listing)}, the sections {sorted(numbers)}")
    return bad


def test_the_case_study_is_grouped_and_labelled():
    nb = json.loads(NOTEBOOK.read_text())
    assert problems(nb) == []
    assert [k for k, _ in structure(nb)["sections"]] == [0] * 5 + [1] * 3 + [2] * 2


def test_the_check_fails_on_a_misnumbered_or_unlabelled_case_study():
    nb = json.loads(NOTEBOOK.read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if src.startswith("### Bug 6:"):                 # a silent bug renumbered as in the old notebook 4
            cell["source"] = src.replace("### Bug 6:", "### Bug 3:", 1)
        if "```python" in src and "gy.make" in src:
            cell["source"] = src.replace("# RECONSTRUCTION", "# the post's code", 1)
    found = problems(nb)
    assert any("reconstruction" in p for p in found) and any("reading order" in p for p in found)

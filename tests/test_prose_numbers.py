"""Every number the prose of a notebook states comes from that notebook.

A number written in a markdown cell (outside ``$...$`` formulas, ``code`` and link targets)
must be *shown* by the same notebook, in one of two places:

* an output of a code cell: stream text (prints, ``acn.checks.claim``), or a ``text/plain`` /
  ``text/markdown`` result (a table). A measured quantity must appear here;
* the source of a code cell: a setting the cell runs with (``total_steps=20_000``, ``lr=2e-3``)
  is shown by the code itself, and the prose restating it cannot drift from it without the
  reader seeing both.

A prose number matches a shown number when the shown number, rounded to the digits the prose
writes, is the prose number: "0.26" is shown by ``0.2634``, "16" by ``15.5``, and "20,000" by
``20_000`` or ``20000``. Every digit written counts, trailing zeros too: "about 300" is not
shown by ``301.7``; print the rounded number the prose states (``f"{x:.0f}"`` of a rounded x).

Numbers that are not quantities are not checked: labels (notebook 3, Figure 13.1, Exercise 5,
seed 1, cell 12, step 2, bug 4, a title's "# 11."), years of citations ("Sutton & Barto (2018)", "et al. 2016",
"(Williams, 1992)") and the short reviewed list ``CONSTANTS`` below. Small integers 0 to 9
are counting words ("two critics", "3 seeds") and are not checked either; a count that
matters is printed by the code that uses it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# The reviewed constants: each is a definition of the task or of a convention, not a measurement.
CONSTANTS = {
    500: "CartPole-v1's time limit (and its largest return)",
    475: "CartPole-v1's solved threshold (acnotes.history.SOLVED)",
    100: "the 100 episodes of CartPole-v1's solved criterion and of the final return",
    95: "the 95% of a confidence interval or band",
    50: "the 50 seeds (0-49) of benchmarks/, and 50%",
    13: "Sutton & Barto's chapter 13 (policy gradient methods)",
}

NUMBER = re.compile(r"(?<![\w.^_\\{-])-?\d[\d,_]*(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])")

# words after which a number names a thing rather than states a quantity
LABELS = (r"notebooks?|figures?|fig\.|chapters?|ch\.|sections?|sec\.|§|exercises?|examples?|cells?|"
          r"bugs?|fix(?:es)?|steps?\s+(?=\d+\s*(?:[:)]|of|and|to|$))|seeds?|items?|parts?|panels?|"
          r"tables?|equations?|eqs?\.|p\.|pp\.|lines?|issues?|version|v|gym(?:nasium)?(?:\s+from)?|appendix|lemma|theorem|box|"
          r"algorithm|question|exercise")
LABELLED = re.compile(rf"\b(?:{LABELS})\s*(?:\d+(?:\.\d+)*)(?:\s*(?:,|and|or|to|-|–)\s*\d+(?:\.\d+)*)*",
                      re.IGNORECASE)
YEAR = r"(?:19|20)\d\d[a-z]?"
# "Williams (1992)", "Sutton & Barto, 2018", "et al. 2016", "(Konda and Tsitsiklis, 2000/2003)", "(Mnih et al., 2016, 2020)"
CITATION = re.compile(rf"(?:[A-Z][\w'-]+(?:\s+et\s+al\.?)?|&\s*[A-Z][\w'-]+|\band\s+[A-Z][\w'-]+|\()[\s,(*]*"
                      rf"{YEAR}(?:\s*[,;/]\s*{YEAR})*\)?")


def prose_text(markdown: str) -> str:
    """The markdown with formulas, code, link targets, HTML tags, labels and citation years removed."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.DOTALL)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"(?<!\\)\$[^$]*?(?<!\\)\$", " ", text)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"^#+\s*\d+\.(?=\s)", " ", text, flags=re.M)      # a notebook's number in its title: "# 12. ..."
    text = LABELLED.sub(" ", text)
    text = re.sub(r"^(#+\s*)\d+\.(?=\s)", r"\1", text, flags=re.MULTILINE)   # a title's number: "# 11. Continuous actions"
    return CITATION.sub(" ", text)


def prose_numbers(markdown: str) -> list[str]:
    """The numbers written in a markdown cell's prose, as written (``"20,000"``, ``"2e-3"``)."""
    return [m.group(0).rstrip(",") for m in NUMBER.finditer(prose_text(markdown))]


def value(token: str) -> float | None:
    try:
        return float(token.replace(",", "").replace("_", ""))
    except ValueError:
        return None


def _decimals(token: str) -> int:
    """The digits the token writes after the point: 2 for "0.26", 0 for "16" and for "300"."""
    mantissa = re.split(r"[eE]", token)[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def shown_by(token: str, shown: list[float]) -> bool:
    """Whether a shown number, rounded to the digits the prose writes, is the prose number."""
    x = value(token)
    if x is None:
        return True
    if "e" in token.lower():                      # 1.8e8: the same mantissa digits
        digits = _decimals(token)
        return any(s != 0 and abs(s / x - 1) <= 0.5 * 10 ** -digits / abs(float(re.split("[eE]", token)[0]))
                   for s in shown)
    half = 0.5 * 10 ** -_decimals(token)
    return any(abs(s - x) <= half + 1e-12 * abs(x) for s in shown)


def shown_numbers(cells: list[dict]) -> list[float]:
    """Every number in the outputs (stream, text/plain, text/markdown) and the sources of the code cells."""
    texts = []
    for c in cells:
        if c["cell_type"] != "code":
            continue
        texts.append("".join(c["source"]))
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream":
                texts.append("".join(o.get("text", "")))
            for mime in ("text/plain", "text/markdown"):
                texts.append("".join(o.get("data", {}).get(mime, "")))
    texts = [re.sub(r"(?<=\b[x×])(?=\d)", " ", t) for t in texts]     # "x7.3" (times) shows 7.3
    found = (value(m.group(0)) for t in texts for m in NUMBER.finditer(t))
    return [x for x in found if x is not None]


def unshown(nb: dict) -> list[tuple[int, str]]:
    """(cell index, number as written) for every prose number the notebook does not show."""
    shown = shown_numbers(nb["cells"])
    missing = []
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] != "markdown":
            continue
        for token in prose_numbers("".join(c["source"])):
            x = value(token)
            if x is None or (x.is_integer() and 0 <= abs(x) <= 9) or abs(x) in CONSTANTS:
                continue
            if not shown_by(token, shown):
                missing.append((i, token))
    return missing


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_every_prose_number_is_shown(path):
    nb = json.loads(path.read_text())
    missing = unshown(nb)
    lines = [f"{path.name} cell {i}: {tok}" for i, tok in missing]
    assert not missing, ("numbers stated in the prose but printed by no output or code of the "
                         "notebook (print them, or do not state them):\n  " + "\n  ".join(lines))


# --------------------------------------------------------------------------- the extractor itself


def _nb(*cells):
    out = []
    for kind, src, *outs in cells:
        cell = {"cell_type": kind, "source": src, "metadata": {}}
        if kind == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": t} for t in outs]
        out.append(cell)
    return {"cells": out}


def test_an_unprinted_number_fails():
    nb = _nb(("markdown", "The ratio is about 300 after 20,000 steps."),
             ("code", "run(total_steps=20_000)", "ratio: 300.4\n"),
             ("markdown", "The critic's error is 0.26, and 138 steps."),
             ("code", "x = 1", "error 0.2634, x7.3\n"),
             ("markdown", "It grows 7.3 times."))
    assert unshown(nb) == [(2, "138")]


def test_what_is_not_a_quantity():
    text = ("Sutton & Barto (2018), Williams (1992) and Schulman et al. 2016 (Mnih et al., 2016, 2020); "
            "(Konda and Tsitsiklis, 2000/2003); "
            "notebook 5, Figure 13.1, Exercise 12, seed 17, cells 14 and 15; $\\gamma = 0.99$, "
            "`lr=2e-3`, [a link](https://example.org/1234). A rate of 0.37.")
    assert prose_numbers(text) == ["0.37"]
    assert prose_numbers("# 11. Continuous actions\n\n11.5 steps") == ["11.5"]
    assert prose_numbers("# 12. From A2C to PPO\n\n12 seeds") == ["12"]


def test_rounding_to_the_written_digits():
    assert shown_by("0.26", [0.2634]) and not shown_by("0.26", [0.27])
    assert shown_by("300", [300.4]) and not shown_by("300", [3.0]) and not shown_by("300", [301.7])
    assert shown_by("16", [15.5]) and not shown_by("16", [15.4])
    assert shown_by("1.8e8", [1.83e8]) and not shown_by("1.8e8", [1.8e7])
    assert shown_by("20,000", [20000.0]) and shown_by("2e-3", [0.002])

"""tests/sanitize.cfg, applied as nbval applies it (each section's regex, in file order, to the
stored and the fresh output alike)."""

import configparser
import re
from pathlib import Path

CFG = Path(__file__).with_name("sanitize.cfg")


def sanitize(text: str) -> str:
    cfg = configparser.ConfigParser()
    cfg.read(CFG)
    for section in cfg.sections():
        text = re.sub(cfg[section]["regex"], cfg[section]["replace"], text)
    return text


def test_rounding_error_reads_the_same_on_any_cpu():
    """An exact check's rounding error may print 8e-16 on one machine and 9e-16 (or 0e+00) on
    another: all read the same; bounds, p-values and settings above 1e-12 do not change."""
    same = ["max difference 8e-16 < 1e-10: ok", "max difference 9e-16 < 1e-10: ok",
            "max difference 0e+00 < 1e-10: ok", "max difference 2.2e-17 < 1e-10: ok"]
    assert len({sanitize(s) for s in same}) == 1
    for kept in ("lr 1e-03", "p = 2.1e-05", "< 1e-10", "1e-12", "gap 3.5e-07", "cell 1e-13x", "v1.2e-14"):
        assert sanitize(kept) == kept, kept

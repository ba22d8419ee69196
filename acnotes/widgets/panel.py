"""``Panel``: a row of controls, a message line and a plot, redrawn whenever a control moves.

The plot is an ordinary cell output (shown with a display id, replaced on every redraw), so an
executed notebook keeps a PNG of the panel's default view that every renderer shows, with or
without a kernel. ``training``, ``variance`` and ``sensitivity`` build their panels on it.
"""

from __future__ import annotations

import time
import uuid
from typing import Callable, Sequence

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display, update_display

__all__ = ["Panel"]


class Panel(W.VBox):
    """Controls + message (+ a progress bar while training) above a plot, redrawn whenever a
    control changes.

    Args:
        draw: ``draw(values, progress)`` returns a Figure, or ``(figure, message)`` to show
            a message in place of "done in ..." (a warning, say). ``values`` maps each
            control's name to its value; ``progress(fraction)`` shows and moves the progress
            bar (call it only for work that takes seconds), and ``progress(fraction, figure)``
            also shows a partial result (message "training: N%"). ``draw`` may also set
            ``panel.message.value`` itself before slow work. It may raise ValueError (shown
            as a message, the old plot stays).
        controls: name -> widget; each widget's ``value`` is observed.
        buttons: extra widgets shown after the controls (not observed).
        auto: draw once now.
        summary: the panel's text form, one plain sentence (what a reader without a kernel
            sees in place of the controls).
        footnote: a line under the message, said once (e.g. where stored results come from).

    In a notebook the plot is an output of the cell of its own, below the panel (``display``
    with a display id, updated in place), so that the executed notebook keeps it as a PNG.
    """

    def __init__(self, draw: Callable, controls: dict[str, W.ValueWidget], auto: bool = True,
                 buttons: Sequence[W.Widget] = (), summary: str | None = None, footnote: str = ""):
        self._draw = draw
        self.controls = controls
        self.progress = W.FloatProgress(value=0.0, min=0.0, max=1.0, description="training",
                                        layout=W.Layout(width="60%", display="none"))
        self.message = W.HTML(value="")
        self.footnote = W.HTML(value=footnote, layout=W.Layout(display="flex" if footnote else "none"))
        self.seconds = float("nan")  # wall time of the last redraw
        self.figure = None
        self.display_id = f"acnotes-panel-{uuid.uuid4().hex}"
        self.displayed = False       # shown in a notebook: redraws update the plot there
        self._summary = summary or (f"panel: {', '.join(controls)} controls; run the notebook to move them")
        for w in controls.values():
            w.observe(self._on_change, names="value")
        row = W.HBox(list(controls.values()) + list(buttons), layout=W.Layout(flex_flow="row wrap"))
        super().__init__([row, self.progress, self.message, self.footnote])
        if auto:
            self.redraw()

    def __repr__(self) -> str:
        return self._summary

    def _ipython_display_(self):
        """The controls (whose text form is ``repr(panel)``), then the plot as an output of
        its own, with this panel's display id."""
        display(self._repr_mimebundle_(), raw=True)
        if self.figure is not None:
            display(self.figure, display_id=self.display_id)
            self.displayed = True

    @property
    def values(self) -> dict:
        return {k: w.value for k, w in self.controls.items()}

    @property
    def training(self) -> bool:
        """Whether the progress bar is shown (only while a setting trains live)."""
        return self.progress.layout.display != "none"

    def _on_change(self, change):
        self.redraw()

    def _set_progress(self, fraction: float, figure=None):
        self.progress.layout.display = "flex"
        self.progress.value = max(0.0, min(1.0, float(fraction)))
        if figure is not None:
            self.message.value = f"<i>training: {100 * self.progress.value:.0f}%</i>"
            self._show(figure)

    def _show(self, fig):
        plt.close(fig)  # shown by display, not by the inline backend at the end of the cell
        if self.displayed:
            update_display(fig, display_id=self.display_id)

    def redraw(self):
        """Run ``draw`` with the current values and show the result or the error."""
        t0 = time.perf_counter()
        self.progress.value = 0.0
        self.progress.bar_style = ""
        self.message.value = "<i>working...</i>"
        try:
            out = self._draw(self.values, self._set_progress)
        except ValueError as e:  # a bad setting: say which, keep the old plot
            self.progress.layout.display = "none"
            self.message.value = f"<b style='color:#b00'>Not run:</b> {_html(str(e))}"
            return None
        except KeyboardInterrupt:
            self.progress.layout.display = "none"
            self.message.value = "<b style='color:#b60'>Interrupted:</b> nothing was drawn"
            return None
        except Exception as e:  # anything else: report it, stay usable
            self.progress.layout.display = "none"
            self.message.value = f"<b style='color:#b00'>Error:</b> {type(e).__name__}: {_html(str(e))}"
            return None
        fig, note = out if isinstance(out, tuple) else (out, "")
        self.seconds = time.perf_counter() - t0
        self.progress.layout.display = "none"
        self.message.value = note or f"done in {self.seconds:.1f} s"
        self._show(fig)
        self.figure = fig
        return fig


_SMALL = "font-size: 0.85em; line-height: 1.35; color: #555"   # a footnote: small, lines close


def _html(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

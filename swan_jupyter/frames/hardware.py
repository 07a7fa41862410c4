"""The hardware catalogue's DataFrame class: a plain DataFrame whose notebook display is compact.

Imported only when a catalogue frame is built (it imports pandas).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

_STYLE = ("<style>.swan-hardware td, .swan-hardware th {white-space: nowrap; text-align: left}</style>")


class HardwareFrame(pd.DataFrame):
    """The hardware catalogue (``%swan hardware``, ``hardware_frame``): a DataFrame in every way; in a notebook
    each hardware shows on one line (no wrapped region lists), with the exact ``price_per_hour_wei`` last.
    Slices (``head()``, filters) keep the class and so the compact display."""

    @property
    def _constructor(self) -> Any:
        return HardwareFrame

    def _repr_html_(self) -> str | None:
        html = pd.DataFrame._repr_html_(self)  # type: ignore[attr-defined]
        if html is None:
            return None
        return f"<div class='swan-hardware'>{_STYLE}{html}</div>"

"""The modules users import from: what the export and documentation checks go through."""

from __future__ import annotations

import trioframe
import trioframe.broadcast
import trioframe.logging
import trioframe.testing
import trioframe.views

PUBLIC_MODULES = (
    trioframe,
    trioframe.testing,
    trioframe.views,
    trioframe.broadcast,
    trioframe.logging,
)

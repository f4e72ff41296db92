"""The one clock: what "now" is for every default that depends on it.

`now()` is the current UTC instant, unless `$COSTKIT_NOW` names one (ISO 8601; naive is
UTC): a report, forecast or budget check can then be run "as of" a past instant, and the
tests pin it so that none depends on the day they run.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from costkit.core.errors import InputError

ENV_NOW = "COSTKIT_NOW"


def now() -> datetime:
    """The current instant (UTC), or $COSTKIT_NOW when set."""
    pinned = os.environ.get(ENV_NOW, "").strip()
    if not pinned:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"${ENV_NOW}={pinned!r}: expected an ISO 8601 instant such as "
                         "2026-11-15T12:00:00Z") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)

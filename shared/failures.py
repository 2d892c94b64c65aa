"""The two kinds of failure every consumer settles by (the bus's one policy, `shared/bus/settle.py`).

- Permanent: the message can never work (refused by the domain, malformed). Answered when
  someone waits for it, otherwise dead-lettered at once; never retried.
- Transient: it may work later (a store or the cloud away). Retried with back-off up to the
  queue's delivery limit, then dead-lettered; an asker gets "unavailable" at once instead.

Any exception that is neither is taken as transient: an unknown failure is retried a few
times, then kept in the dead-letter queue for a human, never silently dropped.
"""

from __future__ import annotations


class Permanent(Exception):
    """Retrying cannot help."""


class Transient(Exception):
    """Retrying later may help."""

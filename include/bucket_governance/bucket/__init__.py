"""The governed Bucket: the admission gate (pure) and the store (gate → payload → version → ledger)."""

from __future__ import annotations

"""The audit ledger: canonical entry bytes, hash chain, verification; Merkle tree and checkpoints."""

from __future__ import annotations

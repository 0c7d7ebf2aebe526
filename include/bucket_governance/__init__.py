"""Governance library for the Bucket: policy, gate, store, ledger, checks. Never imports Airflow."""

from __future__ import annotations

__version__ = "0.1.0"

"""Hooks: turn an Airflow Connection into what the governance library needs (a SQLAlchemy engine)."""

from __future__ import annotations

from bucket_governance_airflow.hooks.governance_db import BucketGovernanceHook

__all__ = ["BucketGovernanceHook"]

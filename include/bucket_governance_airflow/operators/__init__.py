"""Operators: each calls one governance-library function and turns its result into task state."""

from __future__ import annotations

from bucket_governance_airflow.operators.integrity import AuditIntegrityOperator

__all__ = ["AuditIntegrityOperator"]

"""Failure playbooks F1…F10: registry, incidents, gate actions, evidence bundles (no Airflow here)."""

from __future__ import annotations

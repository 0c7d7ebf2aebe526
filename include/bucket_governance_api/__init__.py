"""The HTTP API of the governed Bucket (SPEC §4): ``create_app()`` builds it."""

from __future__ import annotations

from bucket_governance_api.app import create_app

__all__ = ["create_app"]

"""Policy: typed models loaded from YAML, with a fingerprint."""

from __future__ import annotations

from bucket_governance.policy.loader import LoadedPolicy, load_policy, policy_fingerprint
from bucket_governance.policy.models import Actor, ActorKind, Operation, Policy

__all__ = ["Actor", "ActorKind", "LoadedPolicy", "Operation", "Policy", "load_policy", "policy_fingerprint"]

"""What every route shares: settings, engine, policy, the governed store and the rate limiter."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from fastapi import Request
from sqlalchemy import Engine

from bucket_governance.bucket.store import BucketStore
from bucket_governance.policy import LoadedPolicy
from bucket_governance.policy.models import Integration
from bucket_governance.settings import Settings
from bucket_governance_api.ratelimit import RateLimiter


@dataclass
class ApiContext:
    settings: Settings
    engine: Engine
    policy: LoadedPolicy
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.policy)

    @cached_property
    def store(self) -> BucketStore:
        return BucketStore(self.engine, self.policy)

    @cached_property
    def integrations_by_token_hash(self) -> dict[str, Integration]:
        return {i.token_sha256: i for i in self.policy.policy.integrations}

    def integration_for_token(self, token: str) -> Integration | None:
        return self.integrations_by_token_hash.get(hashlib.sha256(token.encode()).hexdigest())


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.bucket_context
    return context

"""Demo step: each product's owner approves schema baselines profiled from the first days of the history.

Approval is a person's act, never automatic; in the demo the owners "do" it here, through the same library
call as `bucket-gov drift baseline --approve`, so the schema-drift check has something to validate against.
"""

from __future__ import annotations

from sqlalchemy import Engine

from bucket_governance.checks.drift.baselines import approve_baseline, propose_baseline
from bucket_governance.policy import LoadedPolicy

DAY_US = 86_400_000_000


def approve_demo_baselines(engine: Engine, policy: LoadedPolicy, start_us: int, profile_days: int = 3) -> list[str]:
    """Propose and approve (by the product's first owner) one baseline per product × class; returns lines to print."""
    done = []
    for product in policy.policy.products:
        owner = product.owners[0]
        for artifact_class in product.artifact_classes:
            propose_baseline(
                engine,
                policy,
                product_id=product.id,
                artifact_class=artifact_class,
                window_start_us=start_us,
                window_end_us=start_us + profile_days * DAY_US,
                proposed_by=owner,
            )
            approved = approve_baseline(
                engine, policy, product_id=product.id, artifact_class=artifact_class, actor_id=owner
            )
            done.append(f"baseline v{approved.version} of {product.id}/{artifact_class} approved by {owner}")
    return done

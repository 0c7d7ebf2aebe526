"""Executor-override incidents (T5): an executor stepping out of its lane, and a hot-patched policy in force.

Both go through the governed store. The hot-fix runs a second store on the same database whose policy was
changed in memory — what a gateway restarted on an edited, never approved, policy file would do.
"""

from __future__ import annotations

from bucket_governance.bucket.requests import AccessRequest
from bucket_governance.bucket.store import BucketStore
from bucket_governance.demo.injection_context import InjectionContext, InjectionTarget
from bucket_governance.demo.injections import _latest_or_setup, injection
from bucket_governance.policy import LoadedPolicy, Operation

HOTFIX_PRODUCT = "gurukul"
HOTFIX_READS = 3


@injection(
    "executor_lane_breach",
    rule_id="T5.governance_bypass",
    description="the workflow executor asks to UPDATE a stored trace in place, outside its CREATE/READ lane",
    day_fraction=0.15,
    hour_utc=11,
    expected_reasons=("actor_lane_violation", "in_place_update_refused"),
)
def _executor_lane_breach(ctx: InjectionContext) -> InjectionTarget:
    trace = _latest_or_setup(ctx, "workflow")
    ctx.submit(
        AccessRequest(
            operation=Operation.UPDATE,
            actor_id="workflow.executor",
            integration_id="workflow.gateway",
            product_id="workflow",
            artifact_id=trace,
            details={"requested_change": "mark the failed run as succeeded"},
        )
    )
    return InjectionTarget("workflow", "workflow.executor", "actor")


def hotfixed_policy(policy: LoadedPolicy, product_id: str) -> LoadedPolicy:
    """The policy with one product's quota doubled, in memory only: a relaxed boundary nobody approved."""
    products = [
        p.model_copy(update={"quota": p.quota * 2}) if p.id == product_id else p for p in policy.policy.products
    ]
    return LoadedPolicy(policy.policy.model_copy(update={"products": products}), policy.sources)


@injection(
    "policy_hotfix",
    rule_id="T5.emergency_hotfix",
    description="gurukul's gateway serves reads under a policy whose quota was doubled without approval",
    day_fraction=0.33,
    hour_utc=9,
    expected_decision="ALLOW",
)
def _policy_hotfix(ctx: InjectionContext) -> InjectionTarget:
    patched = hotfixed_policy(ctx.policy, HOTFIX_PRODUCT)
    lesson = _latest_or_setup(ctx, HOTFIX_PRODUCT)
    ctx.store = BucketStore(ctx.engine, patched, clock=ctx.clock)  # this context only: later ones get a fresh store
    for _ in range(HOTFIX_READS):
        ctx.submit(
            AccessRequest(
                operation=Operation.READ,
                actor_id=f"{HOTFIX_PRODUCT}.service",
                integration_id=f"{HOTFIX_PRODUCT}.gateway",
                product_id=HOTFIX_PRODUCT,
                artifact_id=lesson,
            )
        )
    return InjectionTarget(HOTFIX_PRODUCT, patched.fingerprint, "policy")

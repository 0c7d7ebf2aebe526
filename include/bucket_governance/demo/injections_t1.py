"""Storage-exhaustion incidents (T1): a write flood, a near-limit artifact, a metadata bomb.

Stored writes copy the metadata of the product's newest version, so the schema-drift rules see nothing new;
their payloads stay tiny unless size is the point, so only the one T1 rule each injection targets can fire.
"""

from __future__ import annotations

from typing import Any

from bucket_governance.bucket.requests import CreateRequest
from bucket_governance.demo.injection_context import InjectionContext, InjectionTarget
from bucket_governance.demo.injections import injection

SECOND_US = 1_000_000
RATE_MARGIN = 100  # writes above the product's safe rate in the bucket: a clear flood, not a rounding question
LARGE_MARGIN = 64 * 1024  # bytes above the large-artifact floor


def _flood_times(ctx: InjectionContext, count: int, bucket_us: int) -> list[int]:
    """``count`` increasing times inside the first whole rate bucket of the quiet band, claimed for the band."""
    start = max(ctx.start_us, ctx.times_us[-1] if ctx.times_us else 0)
    first = -(-start // bucket_us) * bucket_us + 1000
    step = (bucket_us - 2000) // count
    times = [first + i * step for i in range(count)]
    if times[-1] >= ctx.end_us:
        raise RuntimeError("the write flood does not fit in its quiet band")
    ctx.times_us.extend(times)
    return times


@injection(
    "autosave_flood",
    rule_id="T1.rapid_writes",
    description="a runaway gurukul autosave stores 100 versions above the product's safe rate within one minute",
    day_fraction=0.18,
    hour_utc=1,
    expected_decision="ALLOW",
)
def _autosave_flood(ctx: InjectionContext) -> InjectionTarget:
    seconds = ctx.policy.policy.threat_thresholds.rapid_writes_bucket_seconds
    rate = ctx.policy.products["gurukul"].write_rate_per_second or ctx.policy.limits.writes_per_second.safe or 1
    count = int(rate * seconds) + RATE_MARGIN
    times = _flood_times(ctx, count, seconds * SECOND_US)
    metadata = ctx.latest_metadata("gurukul")
    artifact_id = "gurukul-autosave-draft"
    requests = [
        CreateRequest(
            actor_id="gurukul.service",
            integration_id="gurukul.gateway",
            product_id="gurukul",
            artifact_class="ContentArtifact",
            owner_id="gurukul.owner",
            artifact_id=artifact_id,
            expected_version=n or None,
            payload=b"{}",  # empty drafts: the flood is in writes, not in bytes
            metadata=metadata,
            provenance={"source": "gurukul.editor", "intent": "autosave a draft lesson", "parents": []},
            claimed_at_us=times[n],
        )
        for n in range(count)
    ]
    batch = int(ctx.policy.limits.batch_size.max)
    for start in range(0, count, batch):
        ctx.clock.load(times[start : start + batch])
        ctx.outcomes.extend(ctx.store.create_batch(requests[start : start + batch]))
    ctx.artifact_ids.append(artifact_id)
    return InjectionTarget("gurukul", "gurukul", "product")


@injection(
    "oversized_trace",
    rule_id="T1.large_artifacts",
    description="workflow stores one execution trace just above 90 % of the 16 MiB artifact size limit",
    day_fraction=0.25,
    hour_utc=2,
    expected_decision="ALLOW",
)
def _oversized_trace(ctx: InjectionContext) -> InjectionTarget:
    limits, thresholds = ctx.policy.limits, ctx.policy.policy.threat_thresholds
    size = int(thresholds.large_artifact_ratio * int(limits.artifact_size)) + LARGE_MARGIN
    head = b'{"run_id":"run-dump-0001","steps":[],"debug_dump":"'
    payload = head + b"x" * (size - len(head) - 2) + b'"}'
    ctx.create(
        CreateRequest(
            actor_id="workflow.service",
            integration_id="workflow.gateway",
            product_id="workflow",
            artifact_class="ExecutionTrace",
            owner_id="workflow.owner",
            artifact_id="workflow-debug-dump-0001",
            payload=payload,
            metadata=ctx.latest_metadata("workflow"),
            provenance={"source": "workflow.runner", "intent": "keep a full debug dump of a run", "parents": []},
            claimed_at_us=ctx.last_time_us,
        )
    ).raise_if_denied()
    return InjectionTarget("workflow", "workflow", "product")


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": True}
    for _ in range(depth - 1):
        value = {"child": value}
    return value


@injection(
    "metadata_bomb",
    rule_id="T1.metadata_explosion",
    description="an ai_assistant client sends a conversation turn with 20 KiB of metadata, then one nested "
    "two levels deeper than allowed; the gate refuses both",
    day_fraction=0.38,
    hour_utc=4,
    expected_reasons=(),
)
def _metadata_bomb(ctx: InjectionContext) -> InjectionTarget:
    limits = ctx.policy.limits
    bombs: tuple[dict[str, Any], ...] = (
        {"transcript_cache": "t" * (int(limits.metadata_size) + 4096)},
        {"context": _nested(limits.metadata_max_depth + 2)},
    )
    for n, metadata in enumerate(bombs, start=1):
        ctx.create(
            CreateRequest(
                actor_id="ai_assistant.service",
                integration_id="ai_assistant.gateway",
                product_id="ai_assistant",
                artifact_class="ConversationArtifact",
                owner_id="ai_assistant.owner",
                artifact_id=f"ai_assistant-bomb-{n:04d}",
                payload=b'{"turn":"hello"}',
                metadata=metadata,
                provenance={"source": "ai_assistant.chat", "intent": "store a turn", "parents": []},
                claimed_at_us=ctx.last_time_us,
            )
        )
    return InjectionTarget("ai_assistant", "ai_assistant", "product")

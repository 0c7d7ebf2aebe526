"""Per-product write profiles for the record-keeping products: enforcement decisions and workflow traces."""

from __future__ import annotations

import random
from typing import Any

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.demo import vocabulary as vocab
from bucket_governance.demo.profile_base import ArtifactRecord, Content, ProductProfile
from bucket_governance.demo.shapes import AROUND_THE_CLOCK, BUSINESS_HOURS, EVERY_DAY, NIGHTLY_BATCH, WORK_WEEK
from bucket_governance.demo.timeline import HOUR_US, MINUTE_US, ActivityShape

# -- enforcement: an append-only decision log, every decision with its reason -----------------------------


class DecisionProfile(ProductProfile):
    """Screening by the AI agent, human review of some screenings, owner decisions on appeals.

    Every decision is a new artifact (the log is append-only); a review names the screening it reviews and
    an appeal the review it overturns or confirms, so each case is a provenance chain inside the product.
    """

    product_id = "enforcement"
    artifact_class = "DecisionArtifact"
    source = "enforcement.moderation"
    versions_per_day = 110.0
    reads_per_day = 12.0
    write_shape = ActivityShape(AROUND_THE_CLOCK, EVERY_DAY)
    read_shape = ActivityShape(BUSINESS_HOURS, WORK_WEEK)
    REVIEW_AFTER_US = 10 * MINUTE_US
    APPEAL_AFTER_US = 2 * HOUR_US

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.awaiting_review: list[ArtifactRecord] = []
        self.appealed: list[ArtifactRecord] = []
        self._cases = 0

    def next_write(self, at_us: int) -> CreateRequest:
        roll = self.rng.random()
        if roll < 0.35 and _oldest_ready(self.awaiting_review, at_us, self.REVIEW_AFTER_US):
            return self._review(at_us, self.awaiting_review.pop(0))
        if roll < 0.4 and _oldest_ready(self.appealed, at_us, self.APPEAL_AFTER_US):
            return self._appeal(at_us, self.appealed.pop(0))
        return self._screening(at_us)

    def next_read(self, at_us: int) -> AccessRequest | None:
        record = self.recent(500)
        if record is None:
            return None
        if self.rng.random() < 0.7:  # auditors are read-only and sample the log
            return self.read_request(record, actor="auditor.enforcement", purpose="audit_sample")
        return self.read_request(record, actor=self.actor("engineer"), purpose="case_lookup")

    def _screening(self, at_us: int) -> CreateRequest:
        self._cases += 1
        policy = self.rng.choice(vocab.POLICIES)
        case = {"case_id": f"case-{self._cases:07d}", "policy_ref": f"community-standards/{policy}"}
        request = self._decision(
            at_us, case, "screening", "agent", f"automated screening of a report under the {policy} policy", []
        )
        if self.rng.random() < 0.3:  # only some screenings go to a human
            self.awaiting_review.append(self.last_record)
        return request

    def _review(self, at_us: int, screening: ArtifactRecord) -> CreateRequest:
        role = "executor" if self.rng.random() < 0.6 else "engineer"
        request = self._decision(
            at_us,
            screening.attributes,
            "review",
            role,
            "human review of an automated screening",
            [screening.parent_ref()],
        )
        if self.rng.random() < 0.15:
            self.appealed = [*self.appealed[-99:], self.last_record]
        return request

    def _appeal(self, at_us: int, review: ArtifactRecord) -> CreateRequest:
        return self._decision(
            at_us, review.attributes, "appeal", "owner", "decide the user's appeal", [review.parent_ref()]
        )

    def _decision(
        self, at_us: int, case: dict[str, Any], stage: str, role: str, intent: str, parents: list[dict[str, Any]]
    ) -> CreateRequest:
        decision = self.rng.choice(vocab.DECISIONS)
        metadata = {
            **case,
            "stage": stage,
            "decision": decision,
            "severity": self.rng.choice(vocab.SEVERITIES),
            "reviewer_kind": "ai" if role == "agent" else "human",
        }
        document = {
            **metadata,
            "rationale": vocab.paragraph(self.rng, self.rng.randint(1, 3)),
            "confidence_pct": self.rng.randint(55, 99),
        }
        return self.new_artifact(
            at_us,
            role=role,
            kind=stage,
            content=Content.inline(document, metadata),
            intent=intent,
            parents=parents,
            attributes=case,
        )


def _oldest_ready(queue: list[ArtifactRecord], at_us: int, min_age_us: int) -> bool:
    return bool(queue) and at_us - queue[0].created_at_us >= min_age_us


# -- workflow: nested execution traces --------------------------------------------------------------------


class TraceProfile(ProductProfile):
    """Runs of a few workflows; a failed run is retried later and the retry names the failed trace."""

    product_id = "workflow"
    artifact_class = "ExecutionTrace"
    source = "workflow.runner"
    versions_per_day = 105.0
    reads_per_day = 8.0
    write_shape = ActivityShape(NIGHTLY_BATCH, WORK_WEEK)
    read_shape = ActivityShape(BUSINESS_HOURS, WORK_WEEK)
    RETRY_AFTER_US = 10 * MINUTE_US
    FAILURE_RATIO = 0.08

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.failed: list[ArtifactRecord] = []
        self._runs = 0

    def next_write(self, at_us: int) -> CreateRequest:
        if self.rng.random() < 0.5 and _oldest_ready(self.failed, at_us, self.RETRY_AFTER_US):
            failed = self.failed.pop(0)
            return self._run(at_us, failed.attributes["workflow"], failed)
        return self._run(at_us, self.rng.choice(vocab.WORKFLOWS), None)

    def next_read(self, at_us: int) -> AccessRequest | None:
        record = self.recent(300)
        if record is None:
            return None
        return self.read_request(record, actor=self.actor("executor"), purpose="debug_run")

    def _run(self, at_us: int, workflow: str, retry_of: ArtifactRecord | None) -> CreateRequest:
        self._runs += 1
        status = "failed" if self.rng.random() < self.FAILURE_RATIO else "succeeded"
        steps = [self._step(name, status) for name in vocab.STAGES]
        attempt = retry_of.attributes["attempt"] + 1 if retry_of else 1
        run = {"run_id": f"run-{self._runs:07d}", "workflow": workflow, "status": status, "attempt": attempt}
        roll = self.rng.random()
        request = self.new_artifact(
            at_us,
            role="service" if roll < 0.75 else ("executor" if roll < 0.9 else "agent"),
            kind="trace",
            content=Content.inline({**run, "steps": steps}, self._metadata(run, steps)),
            intent=f"retry the failed run {retry_of.attributes['run_id']}"
            if retry_of
            else f"record a run of {workflow}",
            parents=[retry_of.parent_ref()] if retry_of else [],
            attributes=run,
        )
        if status == "failed":
            self.failed.append(self.last_record)
        return request

    def _step(self, name: str, run_status: str) -> dict[str, Any]:
        """One step: a list of attempts (depth 5 in the trace: run → steps → step → attempts → attempt)."""
        failed = run_status == "failed" and name == vocab.STAGES[-1]
        attempts = [
            {
                "n": n,
                "host": self.rng.choice(vocab.HOSTS),
                "exit_code": 1 if failed or n < count else 0,
                "duration_ms": self.rng.randint(200, 90_000),
            }
            for count in [self.rng.choice((1, 1, 1, 2))]
            for n in range(1, count + 1)
        ]
        return {"name": name, "status": "failed" if failed else "succeeded", "attempts": attempts}

    def _metadata(self, run: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
        """Run facts plus a nested per-stage summary (five levels: metadata → summary → stages → stage → timing)."""
        stages = {
            step["name"]: {
                "status": step["status"],
                "timing": {
                    "queued_ms": self.rng.randint(5, 5_000),
                    "run_ms": sum(a["duration_ms"] for a in step["attempts"]),
                },
            }
            for step in steps
        }
        return {
            **run,
            "step_count": len(steps),
            "duration_ms": sum(s["timing"]["run_ms"] for s in stages.values()),
            "summary": {"stages": stages},
        }

"""The gurukul write profile: lessons revised over the weeks, quizzes drawn from them, and many reads."""

from __future__ import annotations

import random

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.demo import vocabulary as vocab
from bucket_governance.demo.profile_base import ArtifactRecord, Content, ProductProfile
from bucket_governance.demo.shapes import BUSINESS_HOURS, EVENING_STUDY, STUDY_WEEK, WORK_WEEK
from bucket_governance.demo.timeline import DAY_US, ActivityShape


class LessonProfile(ProductProfile):
    product_id = "gurukul"
    artifact_class = "ContentArtifact"
    source = "gurukul.authoring"
    versions_per_day = 95.0
    reads_per_day = 190.0  # twice its writes: read-heavy
    write_shape = ActivityShape(BUSINESS_HOURS, WORK_WEEK)
    read_shape = ActivityShape(EVENING_STUDY, STUDY_WEEK)
    REVISE_AFTER_US = DAY_US  # authors revise a lesson at most once a day
    MAX_VERSIONS = 6

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.lessons: list[ArtifactRecord] = []
        self._lessons_per_course: dict[str, int] = {}

    def next_write(self, at_us: int) -> CreateRequest:
        roll = self.rng.random()
        revision = self._revision(at_us) if roll < 0.6 else None
        if revision is not None:
            return revision
        if roll < 0.7 and self.lessons:
            return self._quiz(at_us, self.rng.choice(self.lessons))
        return self._lesson(at_us)

    def next_read(self, at_us: int) -> AccessRequest | None:
        record = self.popular()
        if record is None:
            return None
        roll = self.rng.random()
        if roll < 0.04:
            return self.read_request(record, actor=self.actor("executor"), purpose="publish_check")
        if roll < 0.12 and record.version > 1:
            older = self.rng.randrange(1, record.version)
            return self.read_request(record, actor=self.actor("service"), purpose="compare_revisions", version=older)
        return self.read_request(record, actor=self.actor("service"), purpose="student_view")

    def _lesson(self, at_us: int) -> CreateRequest:
        course_id, course_title = self.rng.choice(vocab.COURSES)
        number = self._lessons_per_course.get(course_id, 0) + 1
        self._lessons_per_course[course_id] = number
        attributes = {
            "course_id": course_id,
            "lesson_no": number,
            "title": f"{course_title} — lesson {number}",
            "language": self.rng.choice(vocab.LANGUAGES),
            "level": self.rng.choice(vocab.LEVELS),
        }
        imported = self.rng.random() < 0.3
        request = self.new_artifact(
            at_us,
            role="executor" if imported else "engineer",
            kind="lesson",
            content=self._content(attributes, "lesson", 1, "first publication"),
            intent="import a lesson from the curriculum plan" if imported else "publish a new lesson",
            parents=[],
            attributes=attributes,
        )
        self.lessons.append(self.last_record)
        return request

    def _revision(self, at_us: int) -> CreateRequest | None:
        lesson = self.pick_settled(self.lessons, at_us, self.REVISE_AFTER_US, max_version=self.MAX_VERSIONS - 1)
        if lesson is None:
            return None
        note = self.rng.choice(vocab.REVISION_NOTES)
        content = self._content(lesson.attributes, "lesson", lesson.version + 1, note)
        role = "owner" if self.rng.random() < 0.3 else "engineer"
        return self.new_version(at_us, lesson, role=role, content=content, intent=f"revise the lesson: {note}")

    def _quiz(self, at_us: int, lesson: ArtifactRecord) -> CreateRequest:
        attributes = {**lesson.attributes, "title": f"Quiz: {lesson.attributes['title']}"}
        return self.new_artifact(
            at_us,
            role="agent",
            kind="quiz",
            content=self._content(attributes, "quiz", 1, "generated from the lesson"),
            intent="generate practice questions for a lesson",
            parents=[lesson.parent_ref()],
            attributes=attributes,
        )

    def _content(self, attributes: dict[str, object], kind: str, revision: int, note: str) -> Content:
        body = "\n\n".join(vocab.paragraph(self.rng, self.rng.randint(2, 5)) for _ in range(self.rng.randint(2, 6)))
        metadata = {
            **attributes,
            "kind": kind,
            "revision": revision,
            "revision_note": note,
            "reading_minutes": max(1, len(body) // 900),
        }
        return Content.inline({**attributes, "kind": kind, "revision": revision, "body": body}, metadata)

"""Per-product write profiles for the consumer products: chat turns, avatar media, learning content.

Each profile writes only its own artifact class through its own gateway, with actors of its own product, a
``provenance.intent`` on every write and metadata far below the policy limits (a few hundred bytes, nesting
at most five levels). Metadata keys and value types are fixed per product, so a schema baseline learned
from the demo never sees drift in clean data. Lessons live in ``profiles_lessons``, enforcement decisions
and workflow traces in ``profiles_records``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from bucket_governance.bucket.requests import AccessRequest, CreateRequest
from bucket_governance.demo import vocabulary as vocab
from bucket_governance.demo.profile_base import ArtifactRecord, Content, ProductProfile
from bucket_governance.demo.profiles_lessons import LessonProfile
from bucket_governance.demo.profiles_records import DecisionProfile, TraceProfile
from bucket_governance.demo.shapes import (
    BUSINESS_HOURS,
    CONSUMER_DAY,
    WEEKEND_BUSY,
    WORK_WEEK,
)
from bucket_governance.demo.timeline import HOUR_US, MINUTE_US, ActivityShape

# -- ai_assistant: many small conversation turns ----------------------------------------------------------


@dataclass
class _Conversation:
    conversation_id: str
    language: str
    model: str
    channel: str
    max_turns: int
    last_at_us: int
    evaluation: bool = False  # an engineer's quality-evaluation transcript, not a user conversation
    turns: list[ArtifactRecord] = field(default_factory=list)


class ConversationProfile(ProductProfile):
    product_id = "ai_assistant"
    artifact_class = "ConversationArtifact"
    source = "ai_assistant.chat"
    versions_per_day = 320.0
    reads_per_day = 20.0
    write_shape = ActivityShape(CONSUMER_DAY, WEEKEND_BUSY)
    read_shape = ActivityShape(CONSUMER_DAY, WEEKEND_BUSY)
    IDLE_US = 20 * MINUTE_US  # a conversation untouched this long is over

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.open: list[_Conversation] = []
        self.ended: list[_Conversation] = []
        self._conversations = 0

    def next_write(self, at_us: int) -> CreateRequest:
        self._close_idle(at_us)
        roll = self.rng.random()
        if roll < 0.04 and self.ended:
            return self._summary(at_us, self.ended.pop(0))
        if roll < 0.05:
            return self._turn(at_us, self._start(at_us, evaluation=True))
        if roll < 0.85 and self.open:
            return self._turn(at_us, self.rng.choice(self.open))
        return self._turn(at_us, self._start(at_us))

    def next_read(self, at_us: int) -> AccessRequest | None:
        record = self.recent(200)  # reloading the context of a live conversation
        if record is None:
            return None
        return self.read_request(record, actor=self.actor("service"), purpose="context_reload")

    def _start(self, at_us: int, *, evaluation: bool = False) -> _Conversation:
        self._conversations += 1
        prefix = "eval" if evaluation else "conv"
        conversation = _Conversation(
            conversation_id=f"{prefix}-{self._conversations:07d}",
            language=self.rng.choice(vocab.LANGUAGES),
            model=self.rng.choice(vocab.MODELS),
            channel="api" if evaluation else self.rng.choice(vocab.CHANNELS),
            max_turns=2 if evaluation else self.rng.randint(2, 12),
            last_at_us=at_us,
            evaluation=evaluation,
        )
        self.open.append(conversation)
        return conversation

    def _turn(self, at_us: int, conversation: _Conversation) -> CreateRequest:
        turn = len(conversation.turns) + 1
        role = "user" if turn % 2 else "assistant"
        text = vocab.paragraph(self.rng, self.rng.randint(1, 2) if role == "user" else self.rng.randint(2, 6))
        kind = "evaluation" if conversation.evaluation else "turn"
        metadata = self._metadata(conversation, turn, role, kind, len(text))
        document = {**_turn_fields(metadata), "text": text}
        writer = "agent" if role == "assistant" else ("engineer" if conversation.evaluation else "service")
        request = self.new_artifact(
            at_us,
            role=writer,
            kind="turn",
            content=Content.inline(document, metadata),
            intent=f"record the {role}'s turn of a conversation",
            parents=[conversation.turns[-1].parent_ref()] if conversation.turns else [],
        )
        conversation.turns.append(self.last_record)
        conversation.last_at_us = at_us
        if turn >= conversation.max_turns:
            self._end(conversation)
        return request

    def _summary(self, at_us: int, conversation: _Conversation) -> CreateRequest:
        text = vocab.paragraph(self.rng, 2)
        metadata = self._metadata(conversation, len(conversation.turns), "system", "summary", len(text))
        return self.new_artifact(
            at_us,
            role="executor",
            kind="summary",
            content=Content.inline({**_turn_fields(metadata), "text": text}, metadata),
            intent="summarise a finished conversation for search",
            parents=[t.parent_ref() for t in conversation.turns[-4:]],
        )

    def _metadata(self, conversation: _Conversation, turn: int, role: str, kind: str, chars: int) -> dict[str, object]:
        tokens = max(1, chars // 4)
        return {
            "conversation_id": conversation.conversation_id,
            "turn": turn,
            "role": role,
            "kind": kind,
            "model": conversation.model,
            "language": conversation.language,
            "channel": conversation.channel,
            "tokens_in": tokens if role == "user" else tokens * 3,
            "tokens_out": 0 if role == "user" else tokens,
        }

    def _close_idle(self, at_us: int) -> None:
        for conversation in [c for c in self.open if at_us - c.last_at_us > self.IDLE_US]:
            self._end(conversation)

    def _end(self, conversation: _Conversation) -> None:
        self.open.remove(conversation)
        if not conversation.evaluation and self.rng.random() < 0.25:
            self.ended = [*self.ended[-49:], conversation]  # only some get summarised; keep the queue short


def _turn_fields(metadata: dict[str, object]) -> dict[str, object]:
    """The payload repeats who said it where; every conversation payload has the same keys."""
    return {k: metadata[k] for k in ("conversation_id", "turn", "role")}


# -- ai_avatar: media by reference ------------------------------------------------------------------------


class MediaProfile(ProductProfile):
    product_id = "ai_avatar"
    artifact_class = "MediaArtifact"
    source = "ai_avatar.studio"
    versions_per_day = 85.0
    reads_per_day = 8.0
    write_shape = ActivityShape(BUSINESS_HOURS, WORK_WEEK)
    read_shape = ActivityShape(CONSUMER_DAY, WEEKEND_BUSY)
    RERENDER_AFTER_US = 6 * HOUR_US
    PORTRAIT_WRITERS = (  # (role, intent), drawn uniformly: mostly the upload service
        *[("service", "upload a reference portrait for an avatar")] * 8,
        ("executor", "import a reference portrait from the asset library"),
        ("engineer", "upload a corrected reference portrait"),
    )

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.portraits: dict[str, ArtifactRecord] = {}  # avatar id -> its latest portrait
        self.clips: list[ArtifactRecord] = []

    def next_write(self, at_us: int) -> CreateRequest:
        roll = self.rng.random()
        if not self.portraits or roll < 0.2:
            return self._portrait(at_us)
        if roll < 0.95:
            return self._render(at_us, "clip" if roll < 0.8 else "voice")
        return self._rerender(at_us) or self._render(at_us, "clip")

    def next_read(self, at_us: int) -> AccessRequest | None:
        record = self.recent(300)
        if record is None:
            return None
        return self.read_request(record, actor=self.actor("service"), purpose="playback")

    def _portrait(self, at_us: int) -> CreateRequest:
        if len(self.portraits) < 3 or self.rng.random() < 0.3:
            avatar = f"avt-{len(self.portraits) + 1:04d}"
        else:
            avatar = self.rng.choice(sorted(self.portraits))
        side = self.rng.choice((1024, 2048))
        role, intent = self.rng.choice(self.PORTRAIT_WRITERS)
        request = self.new_artifact(
            at_us,
            role=role,
            kind="portrait",
            content=self._media(avatar, "portrait", self.next_id(), 1, (side, side), 0),
            intent=intent,
            parents=[],
            attributes={"avatar_id": avatar},
        )
        self.portraits[avatar] = self.last_record
        return request

    def _render(self, at_us: int, kind: str) -> CreateRequest:
        avatar = self.rng.choice(sorted(self.portraits))
        size = (0, 0) if kind == "voice" else self.rng.choice(((1280, 720), (1920, 1080)))
        request = self.new_artifact(
            at_us,
            role="agent",
            kind=kind,
            content=self._media(avatar, kind, self.next_id(), 1, size, self.rng.randint(2_000, 60_000)),
            intent=f"render a {kind} from the avatar's reference portrait",
            parents=[self.portraits[avatar].parent_ref()],
            attributes={"avatar_id": avatar, "size": size},
        )
        if kind == "clip":
            self.clips.append(self.last_record)
        return request

    def _rerender(self, at_us: int) -> CreateRequest | None:
        clip = self.pick_settled(self.clips, at_us, self.RERENDER_AFTER_US, max_version=3)
        if clip is None:
            return None
        avatar, size = clip.attributes["avatar_id"], clip.attributes["size"]
        duration = self.rng.randint(2_000, 60_000)
        content = self._media(avatar, "clip", clip.artifact_id, clip.version + 1, size, duration)
        return self.new_version(
            at_us, clip, role="agent", content=content, intent="re-render a clip with the current preset"
        )

    def _media(
        self, avatar: str, kind: str, artifact_id: str, version: int, size: tuple[int, int], duration_ms: int
    ) -> Content:
        mime, extension, codec = vocab.MEDIA_KINDS[kind]
        metadata = {
            "avatar_id": avatar,
            "media_type": kind,
            "mime": mime,
            "codec": codec,
            "width": size[0],
            "height": size[1],
            "duration_ms": duration_ms,
            "external_bytes": self.rng.randint(200_000, 40_000_000),
            "render_preset": self.rng.choice(vocab.AVATAR_PRESETS),
        }
        url = f"https://cdn.avatar.example/media/{avatar}/{artifact_id}-v{version}.{extension}"
        return Content(metadata=metadata, reference_url=url)


PROFILE_TYPES: tuple[type[ProductProfile], ...] = (
    ConversationProfile,
    MediaProfile,
    LessonProfile,
    DecisionProfile,
    TraceProfile,
)


def build_profiles(seed: int) -> list[ProductProfile]:
    """One profile per demo product, each with its own random stream (products do not perturb each other)."""
    return [cls(random.Random(f"{seed}:{cls.product_id}")) for cls in PROFILE_TYPES]

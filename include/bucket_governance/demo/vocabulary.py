"""Small word lists that make the synthetic payloads read like the real thing, and helpers to draw from them."""

from __future__ import annotations

import random

WORDS = (
    "account", "budget", "calendar", "change", "deadline", "draft", "email", "export", "feature", "invoice",
    "meeting", "migration", "notes", "order", "plan", "question", "refund", "report", "review", "schedule",
    "search", "service", "summary", "ticket", "travel", "update", "upload", "weather", "recipe",
    "translation", "password", "delivery", "contract", "lesson", "exercise", "example", "answer", "idea",
)  # fmt: skip

LANGUAGES = ("en", "en", "en", "hi", "es", "de", "fr", "ta")
MODELS = ("assistant-large-2026-09", "assistant-small-2026-10")
CHANNELS = ("web", "mobile", "api")

AVATAR_PRESETS = ("studio", "outdoor", "newsroom", "classroom")
MEDIA_KINDS = {
    # kind: (mime, extension, codec)
    "portrait": ("image/png", "png", "png"),
    "clip": ("video/mp4", "mp4", "h264"),
    "voice": ("audio/mpeg", "mp3", "mp3"),
}

COURSES = (
    ("algebra-1", "Algebra I"),
    ("geometry", "Geometry"),
    ("physics-basics", "Physics basics"),
    ("world-history", "World history"),
    ("python-intro", "Introduction to Python"),
    ("sanskrit-1", "Sanskrit I"),
    ("biology", "Biology"),
    ("statistics", "Statistics"),
)
LEVELS = ("beginner", "intermediate", "advanced")
REVISION_NOTES = (
    "fix a typo in an example",
    "clarify the worked example",
    "add practice exercises",
    "update a diagram description",
    "simplify the introduction",
    "align with the new syllabus",
)

POLICIES = ("spam", "harassment", "self-harm", "impersonation", "copyright", "scam")
DECISIONS = ("allow", "limit", "remove", "escalate")
SEVERITIES = ("low", "medium", "high")

WORKFLOWS = ("nightly-export", "invoice-sync", "report-builder", "media-transcode", "user-onboarding")
STAGES = ("extract", "transform", "load")
HOSTS = ("runner-a", "runner-b", "runner-c")


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choices(WORDS, k=words))
    return text[0].upper() + text[1:] + "."


# A fixed pool of sentences drawn once: paragraphs pick from it with one call, because composing text
# word by word was the largest part of the demo's own cost. The pool's seed is fixed, so it never varies.
_POOL_RNG = random.Random("bucket-governance-demo-sentences")
SENTENCES = tuple(sentence(_POOL_RNG, _POOL_RNG.randint(6, 16)) for _ in range(1024))


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(rng.choices(SENTENCES, k=sentences))

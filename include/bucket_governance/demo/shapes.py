"""Daily (24 UTC hours) and weekly (Monday first) activity weights the product profiles combine.

Peaks stay within about twice the mean, so an hour-bucketed baseline of clean data is never "far above"
itself; the shapes only have to look like people and batch jobs, not to stress any limit.
"""

from __future__ import annotations

# People chatting: quiet at night, busiest in the evening.
CONSUMER_DAY = (
    0.35, 0.25, 0.2, 0.2, 0.2, 0.25, 0.4, 0.7, 1.0, 1.2, 1.3, 1.3,
    1.3, 1.3, 1.3, 1.3, 1.4, 1.5, 1.7, 1.8, 1.8, 1.5, 1.0, 0.6,
)  # fmt: skip
# Teams at work: office hours with a lunch dip.
BUSINESS_HOURS = (
    0.15, 0.1, 0.1, 0.1, 0.1, 0.15, 0.3, 0.7, 1.4, 1.8, 1.9, 1.8,
    1.4, 1.7, 1.8, 1.7, 1.5, 1.1, 0.6, 0.4, 0.3, 0.25, 0.2, 0.15,
)  # fmt: skip
# Students: some daytime study, most after school and work.
EVENING_STUDY = (
    0.3, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 0.8, 0.9, 0.9, 1.0,
    1.0, 1.0, 1.1, 1.2, 1.4, 1.7, 2.0, 2.1, 2.0, 1.6, 1.0, 0.6,
)  # fmt: skip
# Moderation runs around the clock, following traffic a little.
AROUND_THE_CLOCK = (
    0.7, 0.65, 0.6, 0.6, 0.6, 0.7, 0.8, 0.9, 1.1, 1.2, 1.3, 1.3,
    1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8,
)  # fmt: skip
# Scheduled jobs: a nightly batch window plus daytime triggers.
NIGHTLY_BATCH = (
    0.6, 1.8, 2.2, 2.0, 1.2, 0.5, 0.4, 0.5, 0.9, 1.1, 1.1, 1.1,
    1.0, 1.1, 1.1, 1.1, 1.0, 0.8, 0.6, 0.5, 0.45, 0.4, 0.4, 0.5,
)  # fmt: skip

WORK_WEEK = (1.1, 1.1, 1.1, 1.1, 1.0, 0.45, 0.4)
WEEKEND_BUSY = (1.0, 1.0, 1.0, 1.0, 1.0, 1.15, 1.15)
STUDY_WEEK = (1.0, 1.0, 1.0, 0.9, 0.8, 1.3, 1.4)
EVERY_DAY = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)

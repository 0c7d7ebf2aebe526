"""Modules that register further demo injections (one per topic); imported before injections are resolved.

Each line imports a module whose ``@injection`` decorators add to ``bucket_governance.demo.injections.REGISTRY``.
"""

from __future__ import annotations

from bucket_governance.demo import (
    injections_drift,  # noqa: F401
    injections_integrity,  # noqa: F401
    injections_t1,  # noqa: F401
    injections_t2,  # noqa: F401
    injections_t4,  # noqa: F401
    injections_t5,  # noqa: F401
    injections_t6,  # noqa: F401
    injections_t7,  # noqa: F401
    injections_t9,  # noqa: F401
    injections_t10,  # noqa: F401
)

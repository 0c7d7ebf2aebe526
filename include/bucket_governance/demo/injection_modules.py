"""Modules that register further demo injections (one per topic); imported before injections are resolved.

Each line imports a module whose ``@injection`` decorators add to ``bucket_governance.demo.injections.REGISTRY``.
"""

from __future__ import annotations

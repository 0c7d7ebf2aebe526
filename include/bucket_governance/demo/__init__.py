"""A synthetic multi-product Bucket: a deterministic history, injected incidents, and their ground truth.

``generate_demo`` writes weeks of realistic, policy-clean traffic for the five demo products through the
governed store; ``demo.injections`` plants named incidents, each declared with the detection rule that must
find it; the manifest records them so the threat scan can be scored against the truth.
"""

from __future__ import annotations

# Imported for its side effect: the modules it lists register further injections in the registry.
from bucket_governance.demo import injection_modules  # noqa: F401
from bucket_governance.demo.generator import generate_demo
from bucket_governance.demo.injections import REGISTRY as INJECTIONS
from bucket_governance.demo.injections import resolve_injections
from bucket_governance.demo.manifest import Incident, Manifest, load_manifest, write_manifest
from bucket_governance.demo.result import DemoResult, ProductCounts

__all__ = [
    "INJECTIONS",
    "DemoResult",
    "Incident",
    "Manifest",
    "ProductCounts",
    "generate_demo",
    "load_manifest",
    "resolve_injections",
    "write_manifest",
]

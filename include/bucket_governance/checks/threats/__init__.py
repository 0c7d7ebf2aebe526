"""Threat detection: the catalogue T1…T10, the rule registry, and the scan that runs the rules over a window."""

"""One module per threat (t1 … t10); each registers its rules with ``@rule`` on import."""

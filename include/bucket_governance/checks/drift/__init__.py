"""Schema drift: versioned metadata baselines per product × artifact class, validated with Great Expectations.

``baselines`` profiles an approved window into a proposed baseline and approves it (a ledger entry);
``frame`` flattens a window's metadata into one DataFrame per product × class; ``suite`` exports a baseline
as a GX Core ExpectationSuite and validates a frame with ``ValidationDefinition.run``; ``classify`` turns
failed expectations into located changes (additive or breaking); ``pipeline`` runs it all for a window and
records results, T3 findings and Data Docs. Great Expectations and pandas are imported inside functions only.
"""

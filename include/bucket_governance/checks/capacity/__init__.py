"""Capacity projection: daily usage history → projections per limit with a P10–P90 band → status, pictures.

Entry point: :func:`bucket_governance.checks.capacity.pipeline.run_capacity` (the DAG and the CLI call it).
"""

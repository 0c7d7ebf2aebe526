"""A baseline as a GX Core 1.x ExpectationSuite, and the validation of a window's frame against it.

Great Expectations is imported inside the functions: importing it costs seconds, and DAG parsing and most
CLI commands never need it. Validation runs through ``ValidationDefinition.run`` on a file-backed context
when a project directory is given (results kept, Data Docs built there) and on an ephemeral one otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bucket_governance.checks.drift.baselines import Baseline

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationSuite
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext

log = logging.getLogger(__name__)

# Baseline JSON type → the type name GX's pandas backend matches (dtype of a typed column, or each value's
# Python type in an object column). pandas 3's default ``str`` dtype matches "str" (FACTS.md).
GX_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list", "object": "dict"}
DATASOURCE = "bucket_metadata"
BATCH = "window"


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's verdict, reduced to what classification needs."""

    kind: str  # type_change | not_null | allowed_values | column_set
    column: str | None
    success: bool
    unexpected_count: int = 0
    observed: Any = None
    unexpected_columns: tuple[str, ...] = ()


@dataclass
class Validation:
    suite_name: str
    outcomes: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


def import_gx() -> Any:
    """Import Great Expectations once, without its own import-time deprecation warnings (``sre_constants``…).

    They come from GX's modules, not from our calls, and would turn into errors where warnings are errors.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import great_expectations
        import great_expectations.datasource.fluent.pandas_datasource
        import great_expectations.expectations.core
    return great_expectations


def suite_name(baseline: Baseline) -> str:
    return f"{baseline.product_id}.{baseline.artifact_class}.v{baseline.version}"


def export_suite(baseline: Baseline) -> ExpectationSuite:
    """The baseline as an ExpectationSuite: field set, types, nullability of required fields, allowed values."""
    import_gx()  # first: silences GX's own import-time warnings
    from great_expectations.core.expectation_suite import ExpectationSuite as Suite
    from great_expectations.expectations.core import expect_column_values_to_be_in_set as in_set
    from great_expectations.expectations.core import expect_column_values_to_be_of_type as of_type
    from great_expectations.expectations.core import expect_column_values_to_not_be_null as not_null
    from great_expectations.expectations.core import expect_table_columns_to_match_set as column_set

    suite = Suite(name=suite_name(baseline), meta=_suite_meta(baseline))
    names = [f.name for f in baseline.fields]
    suite.add_expectation(
        column_set.ExpectTableColumnsToMatchSet(column_set=names, exact_match=True, meta={"kind": "column_set"})
    )
    for spec in baseline.fields:
        meta = {"field": spec.name}
        if spec.required:
            suite.add_expectation(
                not_null.ExpectColumnValuesToNotBeNull(column=spec.name, meta={**meta, "kind": "not_null"})
            )
        suite.add_expectation(
            of_type.ExpectColumnValuesToBeOfType(
                column=spec.name, type_=GX_TYPES.get(spec.type, "object"), meta={**meta, "kind": "type_change"}
            )
        )
        if spec.allowed_values is not None:
            suite.add_expectation(
                in_set.ExpectColumnValuesToBeInSet(
                    column=spec.name, value_set=list(spec.allowed_values), meta={**meta, "kind": "allowed_values"}
                )
            )
    return suite


def _suite_meta(baseline: Baseline) -> dict[str, Any]:
    return {
        "baseline_id": baseline.baseline_id,
        "fields_sha256": baseline.fields_sha256,
        "approved_by": baseline.approved_by,
        "approved_at_us": baseline.approved_at_us,
        "approval_seq": baseline.approval_seq,
    }


def gx_context(project_dir: Path | None) -> AbstractDataContext:
    """A file-backed context under ``project_dir`` (kept between runs) or an ephemeral one; no progress bars."""
    gx = import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context: AbstractDataContext
    if project_dir is None:
        context = gx.get_context(mode="ephemeral")
    else:
        project_dir.mkdir(parents=True, exist_ok=True)
        context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def validate_frame(context: AbstractDataContext, baseline: Baseline, frame: pd.DataFrame) -> Validation:
    """Run the baseline's suite over ``frame`` with ``ValidationDefinition.run``; the results stay in the context."""
    gx = import_gx()
    name = suite_name(baseline)
    batch = _batch_definition(context, f"{baseline.product_id}.{baseline.artifact_class}")
    suite = context.suites.add_or_update(export_suite(baseline))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    result = definition.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "SUMMARY"})
    return Validation(name, [_outcome(r) for r in result.results])


def _batch_definition(context: AbstractDataContext, asset_name: str) -> Any:
    from great_expectations.datasource.fluent.pandas_datasource import PandasDatasource

    try:
        source = context.data_sources.get(DATASOURCE)
    except KeyError:
        source = context.data_sources.add_pandas(name=DATASOURCE)
    assert isinstance(source, PandasDatasource)
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_dataframe_asset(name=asset_name)
    try:
        return asset.get_batch_definition(BATCH)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(BATCH)


def _outcome(result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    details = result.result or {}
    mismatched = (details.get("details") or {}).get("mismatched") or {}
    return ExpectationOutcome(
        kind=(config.meta or {}).get("kind", config.type),
        column=config.kwargs.get("column"),
        success=bool(result.success),
        unexpected_count=int(details.get("unexpected_count") or 0),
        observed=details.get("observed_value"),
        unexpected_columns=tuple(mismatched.get("unexpected") or ()),
    )


def build_data_docs(context: AbstractDataContext) -> str | None:
    """Render the context's suites and validation results; the local site's index.html path (file contexts)."""
    sites = context.build_data_docs()
    url = next(iter(sites.values()), None)
    return url.removeprefix("file://") if isinstance(url, str) else None

"""The one place that runs costing, variants, references and the report for every source."""

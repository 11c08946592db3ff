"""The orders resource: a consumer orders a service with parameter values."""

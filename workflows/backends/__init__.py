"""Backends run orders: `local` (child processes) and `kubernetes` (Jobs and Workflows)."""

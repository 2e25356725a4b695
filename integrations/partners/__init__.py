"""Partner services an operator resells and bills as merchant of record (Netflix first)."""

"""Benchmarks for todo_data (issue 5): ``python -m benchmarks.run`` measures and writes docs/benchmarks.md. Not tests."""

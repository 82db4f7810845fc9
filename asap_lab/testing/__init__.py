"""Conformance suites that every pluggable part (tool, LLM backend) must pass."""

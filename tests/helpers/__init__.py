"""Test fixtures shared by several test files."""

"""infofrag.models."""

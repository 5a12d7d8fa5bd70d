"""infofrag.metrics."""

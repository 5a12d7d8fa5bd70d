"""infofrag.utils."""

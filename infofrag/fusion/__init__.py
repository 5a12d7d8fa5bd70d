"""infofrag.fusion."""

"""infofrag.export."""

"""infofrag.cli."""

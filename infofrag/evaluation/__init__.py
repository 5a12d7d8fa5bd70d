"""infofrag.evaluation."""

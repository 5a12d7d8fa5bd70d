"""infofrag.training."""

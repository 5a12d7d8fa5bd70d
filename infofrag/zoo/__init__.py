"""infofrag.zoo."""

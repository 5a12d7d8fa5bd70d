"""infofrag.fragments."""

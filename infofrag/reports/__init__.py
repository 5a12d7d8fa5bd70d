"""infofrag.reports."""

"""infofrag.analysis: the zoo analysis, from a folder of models to tables, figures and a report.

`pipeline.analyse_zoo` runs the stages per dataset (sample, embedding, dlib's metrics,
pairwise NMI/VI, structure, figures, fusion, whole spaces, intervals, selection);
`tables` makes every table's rows and columns; `outputs` writes them.
"""

from __future__ import annotations


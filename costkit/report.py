"""plotly figures and the self-contained monthly HTML report (issue 7)."""

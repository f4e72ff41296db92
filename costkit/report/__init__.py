"""The monthly report: its data, figures and the HTML page."""

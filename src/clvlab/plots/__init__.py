"""Plots of clvlab, one module per topic; each function returns the matplotlib Axes."""

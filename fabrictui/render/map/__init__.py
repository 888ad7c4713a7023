"""The fabric map (issue 20): graph, layout on a character grid, drawing. Pure."""

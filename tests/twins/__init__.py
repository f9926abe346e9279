"""In-memory twins of the domain's ports, for unit tests; each passes its port's contract suite."""

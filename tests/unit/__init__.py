"""Pure tests: in-process, nothing installed, no lab (`scripts/test --fast` runs only these)."""

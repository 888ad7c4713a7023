"""Headless commands about the fabric itself (commands/ is full: new ones go here)."""

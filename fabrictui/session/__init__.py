"""The session layer: the live lab state, the feeds that fill it and the life
of actions, all without Textual (the screen reads and starts, nothing more)."""

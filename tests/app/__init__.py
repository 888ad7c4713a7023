"""The Textual app in-process (pilot and snapshot tests) on the demo lab and fakes."""

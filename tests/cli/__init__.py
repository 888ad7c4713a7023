"""The command line as a user types it, run as a process, on the demo lab and fakes."""

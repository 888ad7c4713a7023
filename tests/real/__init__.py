"""Tests that need a real tool installed (OpenSSH, tcpdump, ping, vagrant, kubectl), no lab."""

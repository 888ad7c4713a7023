"""Pings between pods: the mesh (matrix of loss and rtt) and a ping watched on the wire."""

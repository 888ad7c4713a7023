"""The demo lab's drill down (issue 26): what its switches print for one BGP neighbour
(FRR's JSON on a spine, NCLU's text on a leaf), what a node's BIRD prints for one protocol,
and a switch's interfaces, all following the demo's faults and fed through the real parsers.
"""

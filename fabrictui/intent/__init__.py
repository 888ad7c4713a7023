"""What a healthy lab is meant to be: its shape, the BGP sessions it expects, the Calico
VXLAN and BGP designs. Pure data beside the model; no I/O."""

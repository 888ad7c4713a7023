"""The checks of a healthy lab in each Calico mode, and the diagnosis of a failed ping."""

"""Actions that change a lab: deploy Calico (either mode), scale, and their plans.
Each asks first and is audited (session/audited.py); refused in read-only mode."""

"""Network policy: which policy allows or denies traffic between two pods, the verify check
that asks it of the workload, and the words the trace and the ping matrix use."""

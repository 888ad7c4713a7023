"""API objects read for a drill down (issue 26): Events in either of their shapes, and a pod's
or a node's full detail, as typed values. Pure; ParseError for what cannot be read."""

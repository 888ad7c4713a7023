"""The path MTU between two pods: the largest "don't fragment" packet that crosses, where a
larger one dies, and what to set (docs/mtu.md).

`search` finds the sizes with a few DF probes (`LabBackend.probe(..., df=True)`), `where`
reads the interface MTUs of the hosts on the path to name the one that is too small, and
`run` puts them together for the `fabrictui mtu` command and verify's "path MTU" check."""

"""Where the tests find the project and their data, wherever the test file sits."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"
CALICO_MANIFEST = ROOT / "fabrictui" / "manifests" / "calico-vxlan.yaml"  # v3.26, 1.24+
# the seed's era: v1beta1 CRDs, for a Kubernetes 1.15 server (the rehearsal lab's default)
CALICO_MANIFEST_1_15 = ROOT / "fabrictui" / "manifests" / "calico-vxlan-v3.10.yaml"

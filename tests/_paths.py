"""Where the tests find the project and their data, wherever the test file sits."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"
CALICO_MANIFEST = ROOT / "fabrictui" / "manifests" / "calico-vxlan.yaml"

"""Kubernetes-style generated names and Calico IPAM blocks, seeded.

Seed 1 reproduces the seed document: the same pod names, the same /26 blocks
(10.65.76.192/26 on k8s-node-l1-2 and so on). Other seeds draw them from a
`random.Random(seed)`, so they are still reproducible.
"""

from __future__ import annotations

import ipaddress
import random

from fabrictui.constants import POD_BLOCK_PREFIX, POD_POOL

# k8s.io/apimachinery/pkg/util/rand: consonants and digits that cannot spell words.
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

SEED_NAMES: dict[str, list[str]] = {
    "calico-node": ["8wdhx", "hwkkx", "mm4lw", "qwzml", "txjvc"],
    "kube-proxy": ["49db5", "nczf7", "tw7sm", "x76j7", "zdvql"],
    "coredns": ["27f97", "hbzts"],
    "calico-kube-controllers": ["xpn6z"],
    "nginx-deployment": ["nnzz5", "x9llj", "xhhwl", "z9pl9"],
}
SEED_HASHES = {
    "coredns": "5c98db65d4",
    "calico-kube-controllers": "59f54d6bbc",
    "nginx-deployment": "55457b9d87",
}
# The seed's blocks; the master's is not in the seed (assumed).
SEED_BLOCKS = {
    "k8s-master-l1-1": "10.71.134.64/26",
    "k8s-node-l1-1": "10.67.209.0/26",
    "k8s-node-l1-2": "10.65.76.192/26",
    "k8s-node-l2-1": "10.68.86.128/26",
    "k8s-node-l2-2": "10.76.172.128/26",
}
# Where the seed's pods ran (the scheduler prefers these nodes for seed 1).
SEED_PLACEMENT = {
    "coredns-5c98db65d4-27f97": "k8s-node-l2-2",
    "coredns-5c98db65d4-hbzts": "k8s-node-l1-1",
    "calico-kube-controllers-59f54d6bbc-xpn6z": "k8s-node-l2-2",
    "calicoctl": "k8s-node-l2-2",
    "nginx-deployment-55457b9d87-nnzz5": "k8s-node-l1-2",
    "nginx-deployment-55457b9d87-x9llj": "k8s-node-l1-1",
    "nginx-deployment-55457b9d87-xhhwl": "k8s-node-l2-2",
    "nginx-deployment-55457b9d87-z9pl9": "k8s-node-l2-1",
}


class NameSource:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self._used: dict[str, int] = {}
        self._hashes: dict[str, str] = {}
        self._blocks_used: set[str] = set()

    @property
    def seeded(self) -> bool:
        return self.seed == 1

    def _random(self, n: int) -> str:
        return "".join(self.rng.choice(ALPHABET) for _ in range(n))

    def suffix(self, owner: str) -> str:
        index = self._used.get(owner, 0)
        self._used[owner] = index + 1
        if self.seeded and index < len(SEED_NAMES.get(owner, [])):
            return SEED_NAMES[owner][index]
        return self._random(5)

    def template_hash(self, owner: str) -> str:
        if owner not in self._hashes:
            if self.seeded and owner in SEED_HASHES:
                self._hashes[owner] = SEED_HASHES[owner]
            else:
                self._hashes[owner] = self._random(10)
        return self._hashes[owner]

    def uid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def block(self, node: str, pool: str) -> str:
        if self.seeded and pool == POD_POOL and node in SEED_BLOCKS:
            block = SEED_BLOCKS[node]
        else:
            net = ipaddress.IPv4Network(pool)
            prefix = POD_BLOCK_PREFIX
            count = max(1, 2 ** (prefix - net.prefixlen)) if net.prefixlen <= prefix else 1
            while True:
                index = self.rng.randrange(count)
                base = int(net.network_address) + index * 2 ** (32 - prefix)
                block = f"{ipaddress.IPv4Address(base)}/{prefix}"
                if block not in self._blocks_used:
                    break
        self._blocks_used.add(block)
        return block

    def preference(self, pod_name: str, nodes: list[str]) -> list[str]:
        """The scheduler's tie-break order among equally good nodes for this pod."""
        order = list(nodes)
        self.rng.shuffle(order)
        wanted = SEED_PLACEMENT.get(pod_name) if self.seeded else None
        if wanted in order:
            order.remove(wanted)
            order.insert(0, wanted)
        return order

    def icmp_id(self) -> int:
        return self.rng.randrange(100, 30000)

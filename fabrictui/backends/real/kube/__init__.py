"""Kubernetes through the official Python client, along its seams:

- `config`: which kubeconfig, the secrets it holds, pointing it at a tunnel;
- `convert`: API objects (raw JSON) -> KubeNode / KubePod, as kubectl shows them
  (the demo lab goes through the same functions);
- `manifests`: the Calico manifest and the demo workload's objects;
- `changes`: server-side apply and creating the workload;
- `watch`: one watch read in a thread, handed to the event loop;
- `client`: `KubeClient`, one cluster through one kubeconfig context.
"""

"""Command palette entries (ctrl+p): the actions, the overlay, themes and the
lab's faults, named by area ("calico: deploy", "fault: stop spine-sw1")."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from fabrictui.ui import actions_ui


class FabricCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        app = self.app
        commands: list[tuple[str, object, str]] = [
            ("calico: deploy (asks: VXLAN or BGP)", app.action_deploy_calico, "apply Calico"),
            (
                "calico: BGP mode (peer with the leaves)",
                partial(actions_ui.deploy_calico, app, "bgp"),
                "deploy or migrate to BGP mode, no encapsulation",
            ),
            (
                "calico: VXLAN mode (overlay)",
                partial(actions_ui.deploy_calico, app, "vxlan"),
                "deploy, or migrate back from BGP mode",
            ),
            ("routes: per switch", partial(actions_ui.routes, app), "node subnets, pod blocks"),
            ("map: the fabric as a drawing", app.action_map, "switches, nodes, links, traffic"),
            (
                "policy: per pod",
                partial(actions_ui.policies, app),
                "which policies select each pod",
            ),
            ("k8s: scale nginx", app.action_scale, "scale space1/nginx-deployment"),
            ("k8s: events", app.main.action_events, "Warning first, newest first (E)"),
            ("k8s: logs of the selected pod", app.main.action_logs, "l in the pods table"),
            ("ping: run the pod mesh", app.action_ping_mesh, "full mesh between nginx pods"),
            ("verify: run the six checks", app.action_verify, "is the lab healthy?"),
            ("trace: path between two pods", app.action_trace, "where a probe dies, and why"),
            ("mtu: path MTU between two pods", app.action_mtu, "the largest packet that crosses"),
            (
                "trace: the way to a Service",
                partial(app.action_trace, True),
                "pod -> ClusterIP -> kube-proxy rule -> endpoint pod",
            ),
            ("capture: pause / resume", app.action_toggle_pause, "stop drawing, keep counting"),
            ("capture: write pcap", app.action_write_pcap, "save the buffered frames"),
            ("report: write the report of now", app.action_write_report, "HTML and Markdown"),
            ("action: cancel", app.action_cancel_action, "cancel the running action"),
            ("help: keys", app.action_help, "every key and what it does"),
        ]
        host = app.selected_host()
        if host is not None:
            for verb in ("up", "halt", "reload"):
                commands.append(
                    (f"vm: {verb} {host}", partial(app.action_vm_action, verb), "selected VM")
                )
        for name in app.fabric_themes():
            commands.append((f"theme: {name}", partial(setattr, app, "theme", name), "colours"))
        for fault in app.backend.faults():
            verb = "clear" if fault.active else "inject"
            commands.append(
                (
                    f"fault: {verb} {fault.title}",
                    partial(app.toggle_fault, fault.id, not fault.active, fault.title),
                    "active now" if fault.active else "break the lab on purpose",
                )
            )
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)

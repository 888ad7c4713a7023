"""The app's own keys, in one table: what each does, its id (a user's keymap names it) and
the words the footer, the help screen and the palette show. Panes and screens keep their
own bindings beside their actions; these are the ones that work wherever focus is."""

from __future__ import annotations

from textual.binding import Binding, BindingType

APP_BINDINGS: list[BindingType] = [
    Binding("D", "deploy_calico", "Deploy", id="action.deploy",
            tooltip="deploy Calico: asks the mode (VXLAN or BGP), then the plan"),
    Binding("S", "scale", "Scale", id="action.scale",
            tooltip="scale space1/nginx-deployment, asks for replicas"),
    Binding("P", "ping_mesh", "Ping", id="action.ping",
            tooltip="ping mesh between the nginx pods: matrix of loss and rtt"),
    Binding("V", "verify", "Verify", id="action.verify",
            tooltip="run the checks of a healthy lab in its Calico mode"),
    Binding("T", "trace", "Trace", id="action.trace", show=False,
            tooltip="trace one probe between two pods: where it dies, and why"),
    Binding("M", "mtu", "MTU", id="action.mtu", show=False,
            tooltip="path MTU between two pods: the largest packet that crosses, and where"),
    Binding("m", "map", "Map", id="view.map", show=False,
            tooltip="the fabric map: spines, leaves, racks and nodes with their states"),
    Binding("R", "routes", "Routes", id="action.routes", show=False,
            tooltip="per switch: routes to node subnets and pod blocks, what is missing"),
    Binding("space", "toggle_pause", "Pause", id="overlay.pause", show=False,
            tooltip="pause / resume drawing frames (counting goes on)"),
    Binding("w", "write_pcap", "Write pcap", id="overlay.write", show=False,
            tooltip="write the buffered frames to a pcap file in the current directory"),
    Binding("f", "toggle_transit", "Transit", id="overlay.transit", show=False,
            tooltip="overlay: one-way time and loss across the fabric, per node pair"),
    Binding("left_square_bracket", "replay_step(0)", "Prev change", id="replay.prev",
            show=False, tooltip="replay: the previous change"),
    Binding("right_square_bracket", "replay_step(1)", "Next change", id="replay.next",
            show=False, tooltip="replay: the next change"),
    Binding("left_curly_bracket", "replay_minute(0)", "-1 min", id="replay.back",
            show=False, tooltip="replay: one minute back; live with Prometheus: the fabric "
            "as of a minute ago, from its history (esc: live)"),
    Binding("right_curly_bracket", "replay_minute(1)", "+1 min", id="replay.forward",
            show=False, tooltip="replay: one minute forward"),
    Binding("g", "replay_goto", "Go to", id="replay.goto", show=False,
            tooltip="replay: go to a time (HH:MM:SS, -5m, +30s)"),
    Binding("greater_than_sign", "replay_faster", "Faster", id="replay.faster", show=False,
            tooltip="replay: play faster (1x, 2x, 5x ... 60x)"),
    Binding("s", "ssh", "SSH", id="host.ssh", show=False,
            tooltip="interactive ssh to the host selected in the VM pane"),
    Binding("x", "cancel_action", "Cancel", id="action.cancel", show=False,
            tooltip="cancel the running action"),
    Binding("t", "cycle_theme", "Theme", id="app.theme", show=False,
            tooltip="next theme (fabric-dark, fabric-light, fabric-16, yours)"),
    Binding("question_mark", "help", "Help", id="app.help", tooltip="this screen"),
    Binding("q", "quit", "Quit", id="app.quit", tooltip="quit fabrictui"),
]  # fmt: skip

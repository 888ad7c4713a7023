"""`fabrictui trace`: one probe's path between two pods, where it stopped, and why.

Exit codes as verify's (`commands/_headless.exit_code`): 0 when the probe was delivered, its
reply came back and every point was watched, 1 when it was lost, 2 on bad input, a lab that
cannot be reached or a point the trace read that did not answer (docs/deadlines.md), 3 when
nothing was lost but some point could not be watched (or no probe went out at all)
(docs/trace.md).
"""

from __future__ import annotations

import argparse
import json

from fabrictui.actions.progress import Progress
from fabrictui.actions.trace.dnsname import DnsResolution
from fabrictui.actions.trace.model import HopState, TraceResult
from fabrictui.actions.trace.run import run_trace
from fabrictui.actions.trace.svcsteps import ServiceStep, ServiceTrace, StepState
from fabrictui.backends.base import DEFAULT_PING_SIZE, LabBackend
from fabrictui.commands._headless import emit, error, exit_code, print_progress, run_on_lab
from fabrictui.commands.options import add_lab_selection
from fabrictui.model import LabInfo, Verdict

PROG = "fabrictui trace"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="source", required=True, metavar="[NS/]POD", help="the pod to ping from"
    )
    parser.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="[NS/]POD|IP|[svc/][NS/]SERVICE[:PORT]|CLUSTERIP[:PORT]|[dns/]NAME[:PORT]",
        help="the pod, address, Service or DNS name: a name no pod has is a Service's; "
        "dns/NAME, or a name with a dot that is no IP and no pod's (nginx-service.space1, "
        "nginx-service.space1.svc.cluster.local), is resolved from the --from pod through "
        "the cluster DNS first (dns/NAME: a short name through its search list), then traced "
        "to the answer: a ClusterIP as a Service, a pod's address as a pod",
    )
    parser.add_argument("-c", "--count", type=int, default=3, metavar="N", help="echoes (3)")
    parser.add_argument(
        "-s", "--size", type=int, default=DEFAULT_PING_SIZE, metavar="BYTES",
        help=f"ping payload bytes (default {DEFAULT_PING_SIZE})",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="seconds for the ping (10)"
    )
    parser.add_argument("--json", action="store_true", help="print the trace as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_lab_selection(parser)


MARK = {
    HopState.SEEN: "ok",
    HopState.MISSING: "XX",
    HopState.PASSED: "..",
    HopState.UNOBSERVED: "??",
    HopState.NOT_TAKEN: "  ",
    HopState.NOT_REACHED: "  ",
}


STEP_MARK = {
    StepState.OK: "ok",
    StepState.FAIL: "XX",
    StepState.UNOBSERVED: "??",
    StepState.SKIPPED: "  ",
}


def step_lines(step: ServiceStep) -> list[str]:
    return [f" {STEP_MARK[step.state]} {step.step:<16} {step.text}"] + [
        f"      {e}" for e in step.evidence
    ]


def dns_lines(dns: DnsResolution) -> list[str]:
    """The name's lookup from the source pod: its answer and time, or why not."""
    return [f"resolving {dns.name} from {dns.source} through the cluster DNS:",
            *step_lines(dns.step)]  # fmt: skip


def service_lines(service: ServiceTrace) -> list[str]:
    """The steps to the Service, one a line, what shows each under it."""
    lines = [f"through {service.label}:"]
    for step in service.steps:
        lines += step_lines(step)
    if service.endpoint:
        lines.append(f"then the way to endpoint {service.endpoint} ({service.endpoint_ip}):")
    return lines


def to_text(lab: LabInfo, result: TraceResult) -> str:
    c = result.correlation
    svc = result.service
    dns = dns_lines(result.dns) if result.dns is not None else []
    if result.dns is not None and result.stopped_at == "DNS":  # the lookup failed: no path
        word = "NOT OBSERVED" if result.verdict is Verdict.NOT_OBSERVED else "NOT DELIVERED"
        head = f"trace {result.source} ({result.src_ip}, {result.src_node}) -> {result.target}"
        tail = word + (f": {result.cause}" if result.cause else f": {result.dns.step.text}")
        return "\n".join([lab.describe(), head, *dns, tail])
    named = f"{result.dns.label} -> " if result.dns is not None else ""
    if svc is not None and svc.endpoint is None:  # stopped at the Service: no pod path
        word = {Verdict.PASS: "OK", Verdict.NOT_OBSERVED: "NOT OBSERVED"}.get(
            result.verdict, "NOT DELIVERED"
        )
        head = (
            f"trace {result.source} ({result.src_ip}, {result.src_node}) -> {named}{result.target}"
        )
        tail = [word + (f": {result.cause}" if result.cause else "")]
        return "\n".join([lab.describe(), head, *dns, *service_lines(svc), *tail])
    target = named + (result.target if svc is None else f"{result.target} -> {svc.endpoint}")
    lines = [
        lab.describe(),
        f"trace {result.source} ({result.src_ip}, {result.src_node}) -> {target} "
        f"({result.dst_ip}, {result.dst_node or 'no node'}), ICMP id {c.icmp_id or '-'}: "
        f"{result.ping_text}",
    ]
    lines += dns
    if svc is not None:
        lines += service_lines(svc)
    direction = ""
    lost = c.lost_at
    for hop in result.hops:
        p = hop.point
        if hop.state is HopState.NOT_TAKEN:
            continue
        if p.direction != direction:
            direction = p.direction
            same_way = [h for h in result.hops if h.point.direction == direction]
            if all(h.state in (HopState.NOT_REACHED, HopState.NOT_TAKEN) for h in same_way):
                lines.append(f"{direction}: never sent (the request did not arrive)")
                continue
            lines.append(f"{direction}:")
        elif lines[-1].endswith("never sent (the request did not arrive)"):
            continue
        here = lost is not None and p.step == lost.step and p.direction == lost.direction
        arrow = ">>" if here else MARK[hop.state]
        branch = f" [{p.branch}]" if p.branch else ""
        lines.append(
            f" {arrow} {p.host:<16} {p.interface:<16} {hop.offset_text():>13}  {hop.what()}{branch}"
        )
    if lost is not None:
        lines.append(f"lost at {lost.host} {lost.interface} ({lost.direction})")
    # a probe that never went out was not lost: nothing is known of the path
    word = "DELIVERED" if result.delivered else "NOT DELIVERED" if result.probed else "NOT SENT"
    lines.append(word + (f": {result.cause}" if result.cause else ""))
    if result.verdict is Verdict.NOT_OBSERVED:
        unseen = ", ".join(result.unobserved) or "no probe went out"
        lines.append(f"NOT OBSERVED: {unseen}")
    lines += [f"  {e}" for e in result.evidence]
    lines += [f"  note: {n}" for n in result.notes]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.count < 1:
        return error(PROG, "--count must be at least 1")
    if not 0 <= args.size <= 65507:
        return error(PROG, "--size must be 0..65507")
    if args.timeout <= 0:
        return error(PROG, "--timeout must be positive")

    def report(progress: Progress) -> None:
        if not args.quiet and not args.json:
            print_progress(progress)

    async def body(backend: LabBackend) -> int:
        result = await run_trace(
            backend, report, args.source, args.target, args.count, args.size, args.timeout
        )
        lab = backend.info()
        doc = {"lab": lab.to_json(), **result.to_json()}
        emit(json.dumps(doc, indent=2) if args.json else to_text(lab, result))
        return exit_code(result.verdict)

    return run_on_lab(args, PROG, body, target=f"{args.source} -> {args.target}")

"""The report of ``benchmarks/load.py``: one table row per step, and the summary against the targets."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from benchmarks.harness import percentile
from benchmarks.load_peer import ClosedLoop
from benchmarks.load_steps import PEER, Step

ACK_TARGET_S = 0.050
EMBEDDED_TARGET = 300.0
RATIO_TARGET = 3.0


HEADER = (
    "system",
    "rate/s",
    "ack p50",
    "ack p99",
    "reply p50",
    "reply p99",
    "answered/sent",
    "lost",
    "lag p99",
    "in-flight",
    "CPU% hub/rasa/fake/gen",
    "CPU ms/msg",
    "parsed by",
    "sustained",
)


def ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.0f} ms"


def step_row(step: Step) -> tuple[str, ...]:
    cpu = "/".join(f"{step.cpu[k]:.0f}" if k in step.cpu else "-" for k in ("hub", "rasa", "fake", "gen"))
    acks = step.acks() if step.system != PEER else []
    verdict = "yes" if step.sustained else "no: " + "; ".join(step.problems)
    if step.warnings:
        verdict += " (" + "; ".join(step.warnings) + ")"
    return (
        step.system,
        f"{step.rate:g}",
        ms(percentile(acks, 0.5)),
        ms(percentile(acks, 0.99)),
        ms(percentile(step.replies(), 0.5)),
        ms(percentile(step.replies(), 0.99)),
        f"{step.answered}/{len(step.messages)}",
        str(step.lost),
        ms(percentile([m.lag for m in step.messages], 0.99)),
        str(step.in_flight_max),
        cpu,
        cpu_per_message(step),
        " ".join(f"{name} {count:.0f}" for name, count in sorted(step.engines.items())) or "-",
        verdict,
    )


def cpu_per_message(step: Step) -> str:
    """CPU milliseconds per message of the system under test (the hubs, or the REST peer)."""
    if not step.messages or not step.cpu:
        return "-"
    busy = step.cpu.get("rasa", 0.0) if step.system == PEER else step.cpu.get("hub", 0.0)
    window = step.seconds + step.drained
    return f"{busy / 100 * window * 1000 / len(step.messages):.1f}"


def table(rows: Sequence[tuple[str, ...]]) -> str:
    lines = [HEADER, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER) - 1)]
    out = []
    for n, line in enumerate(lines):
        out.append(" | ".join([*(c.ljust(w) for c, w in zip(line, widths, strict=False)), line[-1]]))
        if n == 0:
            out.append("-+-".join("-" * w for w in widths) + "-+-" + "-" * 9)
    return "\n".join(out)


def best_rate(steps: Sequence[Step]) -> Step | None:
    sustained = [s for s in steps if s.sustained]
    return max(sustained, key=lambda s: s.rate) if sustained else None


def summary(results: dict[str, list[Step]], closed: ClosedLoop | None, args: Any) -> str:
    lines = ["", f"highest sustained rate ({args.seconds:g} s steps, reply p99 <= {args.reply_bound:g} s):"]
    best: dict[str, float] = {}
    for system, steps in results.items():
        top = best_rate(steps)
        best[system] = top.rate if top else 0.0
        if top is None:
            lines.append(f"  {system:<22} none of {[s.rate for s in steps]} /s")
            continue
        ack = percentile(top.acks(), 0.99)
        ack_note = "" if system.startswith("rasa") else f", ack p99 {ms(ack)} (target <= {ms(ACK_TARGET_S)})"
        lines.append(f"  {system:<22} {top.rate:g} /s{ack_note}")
    if closed is not None:
        lines.append(
            f"  rasa REST channel, {closed.senders} concurrent senders: {closed.throughput:.1f} msg/s, "
            f"p50 {ms(percentile(closed.latencies, 0.5))}, p99 {ms(percentile(closed.latencies, 0.99))}, "
            f"{closed.failures} failed"
        )
    if "sqlite-embedded" in best:
        verdict = "met" if best["sqlite-embedded"] >= EMBEDDED_TARGET else "NOT met"
        lines.append(
            f"target: embedded engine, one process >= {EMBEDDED_TARGET:g} msg/s: "
            f"{best['sqlite-embedded']:g} ({verdict})"
        )
    peer = best.get(PEER)
    for system in ("sqlite-rasa", "pg-rasa"):
        if system not in best or peer is None:
            continue
        if peer:
            ratio = best[system] / peer
            verdict = "met" if ratio >= RATIO_TARGET else "NOT met"
            line = f"target: {system} / REST channel (steady) >= {RATIO_TARGET:g}x: {ratio:.1f}x ({verdict})"
        else:  # below the lowest rate tried: no ratio to claim
            line = f"target: {system} / REST channel (steady): no ratio, the peer sustained none of its rates"
        if closed is not None and closed.throughput:
            line += f"; vs its {closed.senders}-sender peak {best[system] / closed.throughput:.1f}x"
        lines.append(line)
    load = os.getloadavg()
    lines.append(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}")
    return "\n".join(lines)

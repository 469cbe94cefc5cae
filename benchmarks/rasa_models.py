"""Rasa models for the NLU benchmarks: train (cached, with the training time kept), serve, parse.

Shared by ``benchmarks/nlu_public_corpora.py``: the stock baseline's project, training with
its time recorded next to the model, and ``/model/parse`` predictions and latency.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import resource
import secrets
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
# The Rasa servers started here (RasaServer) and every call to them share this token.
RASA_TOKEN = os.environ.setdefault("RASA_AUTH_TOKEN", secrets.token_urlsafe(24))

from nlu.client import FAQ_INTENT, Prediction  # noqa: E402
from nlu.rasa_env import RasaEnv  # noqa: E402
from nlu.rasa_http import RasaHttpNlu, prediction_from_parse  # noqa: E402
from nlu.rasa_runner import RasaServer, train_model  # noqa: E402
from nlu.training_data import STOCK_CONFIG, RasaProject, fingerprint, render_domain, render_nlu  # noqa: E402

# stock Rasa with 100 epochs on MASSIVE takes hours on a busy 2-core machine (the hub's default
# timeout is for the knowledge base)
TRAIN_TIMEOUT_S = 8 * 3600.0
PARSE_CONCURRENCY = 4
LATENCY_SAMPLES = 200


async def parse_all(url: str, texts: Sequence[str]) -> list[Prediction]:
    client = RasaHttpNlu(url, timeout=aiohttp.ClientTimeout(total=60.0), auth_token=RASA_TOKEN)
    gate = asyncio.Semaphore(PARSE_CONCURRENCY)

    async def one(text: str) -> Prediction:
        async with gate:
            return await client.parse(text)

    try:
        return list(await asyncio.gather(*(one(t) for t in texts)))
    finally:
        await client.aclose()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def parse_latencies(url: str, texts: Sequence[str], server_pid: int) -> tuple[list[float], float]:
    """Wall-clock ms of sequential ``/model/parse`` calls over one pooled client, and the Rasa
    server's CPU ms per call: on a busy machine wall time measures the queue for a core, CPU
    time what a parse costs."""
    # the hub's 1.5 s default fails a slow parse; here a slow parse is a measurement, not an error
    client = RasaHttpNlu(url, auth_token=RASA_TOKEN, timeout=aiohttp.ClientTimeout(total=60.0))
    try:
        for text in texts[:10]:  # warm the connection pool
            await client.parse(text)
        times = []
        cpu_before = process_cpu_seconds(server_pid)
        for text in texts:
            started = time.perf_counter()
            await client.parse(text)
            times.append((time.perf_counter() - started) * 1000)
        cpu_ms = (process_cpu_seconds(server_pid) - cpu_before) * 1000 / len(texts)
        return times, cpu_ms
    finally:
        await client.aclose()


def stock_config(epochs: int, folder: Path) -> Path:
    config = yaml.safe_load(STOCK_CONFIG.read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if "epochs" in component:
            component["epochs"] = epochs
    path = folder / f"config_stock_{epochs}.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


RASA_REQUIREMENTS = REPO_ROOT / "nlu" / "requirements-rasa.txt"


def write_stock_project(groups: dict[str, list[str]], build_root: Path, config: Path) -> RasaProject:
    """``write_project`` for the stock pipeline, keyed without our components' sources.

    Stock Rasa runs none of govchat's code, so tuning our pipeline must not retrain a baseline
    that takes tens of minutes: its fingerprint covers the data, the config and Rasa's pinned
    requirements only.
    """
    nlu = render_nlu(groups).encode("utf-8")
    domain = render_domain(groups, {}).encode("utf-8")
    config_bytes = config.read_bytes()
    key = "stock-" + fingerprint(nlu, domain, config_bytes, RASA_REQUIREMENTS.read_bytes())
    project = RasaProject(build_root / key, key)
    project.root.mkdir(parents=True, exist_ok=True)
    for path, content in (
        (project.nlu_file, nlu),
        (project.domain_file, domain),
        (project.config_file, config_bytes),
    ):
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
    return project


@dataclass(frozen=True)
class Training:
    """How long a model took to train: now, or when the cached model was trained."""

    model: Path
    wall_s: float | None
    cpu_s: float | None
    cached: bool
    trained_at: str = ""

    def note(self) -> str:
        cpu = "" if self.cpu_s is None else f"training CPU {self.cpu_s:.0f} s"
        if not self.cached:
            return cpu
        when = f"trained {self.trained_at}" if self.trained_at else "training time not recorded"
        return "; ".join(filter(None, [f"cached model ({when})", cpu]))


def _timing_file(model: Path) -> Path:
    return model.with_name(model.name.removesuffix(".tar.gz") + ".training.json")


def train_timed(project: RasaProject, env: RasaEnv, retrain: bool) -> Training:
    """Train (or reuse the cached model) and say how long training took.

    The times of a training are stored next to the model, so a run that reuses it reports them.
    CPU seconds (of the Rasa process) say what training costs when the machine is shared."""
    started, cpu_before = time.monotonic(), _children_cpu_seconds()
    model, trained = train_model(project, env, force=retrain, timeout=TRAIN_TIMEOUT_S)
    timing = _timing_file(model)
    if trained:
        wall, cpu = time.monotonic() - started, _children_cpu_seconds() - cpu_before
        record = {
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "trained_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load_average": round(os.getloadavg()[0], 1),
        }
        timing.write_text(json.dumps(record), encoding="utf-8")
        return Training(model, wall, cpu, cached=False)
    if not timing.exists():
        return Training(model, None, None, cached=True)
    record = json.loads(timing.read_text(encoding="utf-8"))
    return Training(model, record["wall_s"], record["cpu_s"], cached=True, trained_at=record["trained_at"])


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def parse_default_selector(url: str, texts: Sequence[str]) -> list[Prediction]:
    """Predictions of a model whose ResponseSelector has no ``retrieval_intent`` (stock Rasa).

    Such a selector answers under ``response_selector.default`` instead of ``.faq``; with ``faq``
    the only retrieval intent it is the same model, so we read that key as the FAQ ranking."""
    predictions = []
    async with httpx.AsyncClient(
        base_url=url, params={"token": RASA_TOKEN}, timeout=httpx.Timeout(60.0)
    ) as client:
        for text in texts:
            response = await client.post("/model/parse", json={"text": text})
            response.raise_for_status()
            body = response.json()
            selectors = body.get("response_selector") or {}
            if FAQ_INTENT not in selectors and "default" in selectors:
                selectors[FAQ_INTENT] = selectors["default"]
            predictions.append(dataclasses.replace(prediction_from_parse(body), text=text))
    return predictions


def serve_and_measure(
    env: RasaEnv, model: Path, texts: Sequence[str], stock: bool
) -> tuple[list[Prediction], str]:
    """Predictions for ``texts`` and ``/model/parse`` latency, one request at a time."""
    with RasaServer(env, model) as server:
        sample = (list(texts) * (LATENCY_SAMPLES // max(len(texts), 1) + 1))[:LATENCY_SAMPLES]
        assert server.process is not None
        latencies, cpu_ms = asyncio.run(parse_latencies(server.url, sample, server.process.pid))
        if stock:
            predictions = asyncio.run(parse_default_selector(server.url, texts))
        else:
            predictions = asyncio.run(parse_all(server.url, texts))
    note = (
        f"parse p50 {statistics.median(latencies):.1f} ms, p95 {_p95(latencies):.1f} ms, "
        f"server CPU {cpu_ms:.1f} ms/parse, load average {os.getloadavg()[0]:.1f}"
    )
    return predictions, note


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

"""Rasa training data generated from the knowledge base and the core intents.

Never hand-edited, never committed: ``build_project`` writes ``nlu.yml`` (core intents and
the retrieval intent ``faq`` with one response key ``faq/<id>`` per knowledge-base entry),
``domain.yml`` (intents and one ``utter_faq/<id>`` response each, the entry title: the hub
reads answers from the knowledge base itself) and the pipeline ``config.yml`` into
``<build root>/<hash>/``. The hash covers everything that changes the trained model.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from nlu.client import CORE_INTENTS, FAQ_INTENT
from nlu.examples import Example

RASA_PROJECT = Path(__file__).resolve().parent / "rasa_project"
DEFAULT_CONFIG = RASA_PROJECT / "config.yml"
STOCK_CONFIG = RASA_PROJECT / "config_stock.yml"
RASA_DATA_VERSION = "3.1"
# Everything besides the data and the config that changes what training produces.
MODEL_INPUTS: tuple[Path, ...] = (
    *sorted((RASA_PROJECT / "components").glob("*.py")),
    Path(__file__).resolve().parent / "thai_text.py",
    Path(__file__).resolve().parent / "encoder.py",  # the dense featurizer's encoder
    Path(__file__).resolve().parent / "requirements-rasa.txt",
)

_SPACES = re.compile(r"\s+")
# Rasa reads "[text](entity)" inside examples as an entity annotation
_ANNOTATION_BRACKETS = str.maketrans({"[": "(", "]": ")", "{": "(", "}": ")"})


@dataclass(frozen=True)
class RasaProject:
    """Generated files of one training run; ``fingerprint`` names the folder and the model."""

    root: Path
    fingerprint: str

    @property
    def nlu_file(self) -> Path:
        return self.root / "nlu.yml"

    @property
    def domain_file(self) -> Path:
        return self.root / "domain.yml"

    @property
    def config_file(self) -> Path:
        return self.root / "config.yml"


def clean_example(text: str) -> str:
    """One line, no annotation syntax: what a literal YAML ``examples`` block can carry."""
    return _SPACES.sub(" ", text.translate(_ANNOTATION_BRACKETS)).strip()


def rasa_label(example: Example) -> str:
    """``faq/<id>`` for knowledge-base questions, else the core intent."""
    return example.label


def group_examples(examples: Iterable[Example]) -> dict[str, list[str]]:
    """Cleaned, de-duplicated example texts per Rasa label, in first-seen order."""
    groups: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for example in examples:
        text = clean_example(example.text)
        label = rasa_label(example)
        if text and (label, text) not in seen:
            seen.add((label, text))
            groups.setdefault(label, []).append(text)
    return groups


def render_nlu(groups: Mapping[str, Sequence[str]]) -> str:
    """``nlu.yml``: one block per label, examples (cleaned) as a literal list (Rasa's usual layout)."""
    lines = [f'version: "{RASA_DATA_VERSION}"', "nlu:"]
    for label in sorted(groups):
        texts = [cleaned for cleaned in map(clean_example, groups[label]) if cleaned]
        if not texts:
            continue
        lines.append(f"- intent: {label}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in texts)
    return "\n".join(lines) + "\n"


def render_domain(groups: Mapping[str, Sequence[str]], titles: Mapping[str, str]) -> str:
    """``domain.yml``: the intents and an ``utter_<intent>/<key>`` response per response key."""
    intents = sorted({label.split("/", 1)[0] for label in groups})
    responses = {
        f"utter_{label}": [{"text": titles.get(label.split("/", 1)[1]) or label}]
        for label in sorted(groups)
        if "/" in label
    }
    domain: dict[str, object] = {"version": RASA_DATA_VERSION, "intents": intents}
    if responses:
        domain["responses"] = responses
    return yaml.safe_dump(domain, allow_unicode=True, sort_keys=False)


def fingerprint(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def build_project(
    examples: Sequence[Example],
    titles: Mapping[str, str],
    build_root: Path,
    config: Path = DEFAULT_CONFIG,
) -> RasaProject:
    """The govchat project: core intents and ``faq/<id>`` keys, checked, then ``write_project``."""
    unknown = {e.intent for e in examples} - {*CORE_INTENTS, FAQ_INTENT}
    if unknown:
        raise ValueError(f"examples with unknown intents: {sorted(unknown)}")
    return write_project(group_examples(examples), titles, build_root, config)


def write_project(
    groups: Mapping[str, Sequence[str]],
    titles: Mapping[str, str],
    build_root: Path,
    config: Path = DEFAULT_CONFIG,
) -> RasaProject:
    """Write the Rasa project for labelled texts under ``build_root/<fingerprint>/`` (idempotent).

    Labels are intents, or ``<retrieval intent>/<key>`` response keys.
    """
    if len(groups) < 2:
        raise ValueError("Rasa needs examples of at least two intents or FAQ entries")
    nlu = render_nlu(groups).encode("utf-8")
    domain = render_domain(groups, titles).encode("utf-8")
    config_bytes = config.read_bytes()
    key = fingerprint(
        nlu, domain, config_bytes, *(path.read_bytes() for path in MODEL_INPUTS if path.exists())
    )
    project = RasaProject(build_root / key, key)
    if project.config_file.exists():
        return project
    staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=_mkdir(build_root)))
    (staging / "nlu.yml").write_bytes(nlu)
    (staging / "domain.yml").write_bytes(domain)
    (staging / "config.yml").write_bytes(config_bytes)
    if project.root.exists():  # left half-written by an interrupted run
        shutil.rmtree(project.root)
    try:
        staging.rename(project.root)
    except OSError:  # a concurrent build of the same data won the race
        shutil.rmtree(staging)
    return project


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path

"""The peer a user would pick instead of govchat: Rasa Open Source's own server and REST channel.

``build_peer_project`` turns our data into a complete Rasa assistant, NLU *and* dialogue:

* ``nlu.yml``: exactly what ``govchat nlu train`` generates (``nlu/training_data.py``): the
  core intents and the retrieval intent ``faq`` with one ``faq/<id>`` key per entry;
* ``domain.yml``: the FAQ answers of the knowledge base as retrieval responses
  (``utter_faq/<id>``) and the bot's own texts (``knowledge_base/responses.yml``) for the
  core intents and ``nlu_fallback``;
* ``rules.yml``: one rule per intent (``faq`` -> ``utter_faq``, ``greet`` -> ``utter_greet``, ...);
* ``config.yml``: our Thai pipeline (``nlu/rasa_project/config.yml``) and, by ``policies``:

  - ``default``: no ``policies`` key, so ``rasa train`` uses Rasa's default policies
    (Memoization, Rule, UnexpecTEDIntent and TED), as a project made by ``rasa init`` does;
    ``stories.yml`` then holds one story per intent, the same turns as the rules, for the
    machine-learned policies to learn from;
  - ``rules``: ``RulePolicy`` alone, the leanest dialogue a REST deployment can have.

``train_peer`` trains it with ``rasa train`` in the Rasa venv, once per fingerprint (cached
next to the NLU models). ``RestPeer`` runs ``rasa run --credentials`` with only the ``rest``
channel (no ``--enable-api``: the deployment a user would make), in-memory tracker and lock
stores (Rasa's defaults), and ``RASA_TELEMETRY_ENABLED=false``. A message is
``POST /webhooks/rest/webhook`` ``{"sender", "message"}``; the answer comes back in that response.

    .venv/bin/python benchmarks/rasa_rest_peer.py [default|rules]   # train (if needed), start, ask
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from knowledge_base.conversation import Responses, load_responses  # noqa: E402
from knowledge_base.loader import KnowledgeBase, load_knowledge_base  # noqa: E402
from nlu.client import FALLBACK_INTENT, FAQ_INTENT  # noqa: E402
from nlu.commands import build_govchat_project  # noqa: E402
from nlu.rasa_env import RasaEnv, rasa_process_env  # noqa: E402
from nlu.rasa_runner import RasaRunError, RasaServer, models_dir, rasa_command, run_rasa_training  # noqa: E402
from nlu.training_data import DEFAULT_CONFIG, MODEL_INPUTS, RASA_DATA_VERSION, fingerprint  # noqa: E402

BUILD_ROOT = REPO_ROOT / "var" / "rasa" / "peer"
REST_PATH = "/webhooks/rest/webhook"
START_TIMEOUT_S = 300.0
TRAIN_TIMEOUT_S = 1800.0
# What the bot says to each core intent: the same texts the hub uses (responses.yml).
CORE_RESPONSES: dict[str, str] = {
    "greet": "greet",
    "goodbye": "goodbye",
    "thanks": "thanks",
    "request_human": "escalated",
    "complaint_file": "complaint_ask_description",
    "complaint_status": "complaint_ask_number",
    "out_of_scope": "fallback",
    FALLBACK_INTENT: "fallback_offer_human",
}
# "(ท่านอยู่คิวที่ {position})": the hub fills these in; a rule-based bot has no queue to report.
_PLACEHOLDER_CLAUSE = re.compile(r"\s*\([^()]*\{[a-z_]+\}[^()]*\)")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


POLICIES = ("default", "rules")


class PeerProject:
    """Generated files of the peer assistant; ``fingerprint`` names the folder and the model."""

    def __init__(self, root: Path, key: str, data_files: list[str]) -> None:
        self.root = root
        self.fingerprint = key
        self.data_files = data_files

    @property
    def model(self) -> Path:
        return models_dir() / f"peer-rest-{self.fingerprint}.tar.gz"

    def file(self, name: str) -> Path:
        return self.root / name


def static_text(template: str) -> str:
    return _PLACEHOLDER.sub("", _PLACEHOLDER_CLAUSE.sub("", template)).strip()


def render_domain(intents: list[str], kb: KnowledgeBase, responses: Responses) -> str:
    texts = responses.model_dump()
    utterances: dict[str, list[dict[str, str]]] = {
        f"utter_{intent}": [{"text": static_text(str(texts[key]))}] for intent, key in CORE_RESPONSES.items()
    }
    for entry in sorted(kb.entries.values(), key=lambda e: e.id):
        utterances[f"utter_{FAQ_INTENT}/{entry.id}"] = [{"text": entry.answer}]
    domain = {
        "version": RASA_DATA_VERSION,
        "intents": intents,
        "responses": utterances,
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
    }
    return yaml.safe_dump(domain, allow_unicode=True, sort_keys=False)


def render_turns(kind: str, intents: list[str]) -> str:
    """``kind`` ``rule`` or ``story``: one per intent, the intent answered by its utterance."""
    section = {"rule": "rules", "story": "stories"}[kind]
    turns = [
        {kind: f"answer {intent}", "steps": [{"intent": intent}, {"action": f"utter_{intent}"}]}
        for intent in [*intents, FALLBACK_INTENT]
    ]
    return yaml.safe_dump({"version": RASA_DATA_VERSION, section: turns}, allow_unicode=True, sort_keys=False)


def render_config(policies: str) -> str:
    config = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    config["assistant_id"] = "govchat-rest-peer"
    config.pop("policies", None)
    if policies == "rules":
        config["policies"] = [{"name": "RulePolicy"}]
    return yaml.safe_dump(config, allow_unicode=True, sort_keys=False)


def build_peer_project(build_root: Path = BUILD_ROOT, policies: str = "default") -> PeerProject:
    """Write the peer's training data (idempotent) from the knowledge base and core intents."""
    if policies not in POLICIES:
        raise ValueError(f"policies must be one of {POLICIES}")
    nlu_project = build_govchat_project()
    nlu = nlu_project.nlu_file.read_bytes()
    intents = list(yaml.safe_load(nlu_project.domain_file.read_text(encoding="utf-8"))["intents"])
    files = {
        "nlu.yml": nlu,
        "domain.yml": render_domain(intents, load_knowledge_base(), load_responses()).encode("utf-8"),
        "rules.yml": render_turns("rule", intents).encode("utf-8"),
        "config.yml": render_config(policies).encode("utf-8"),
        "credentials.yml": b"rest:\n",
    }
    if policies == "default":
        files["stories.yml"] = render_turns("story", intents).encode("utf-8")
    key = fingerprint(*files.values(), *(path.read_bytes() for path in MODEL_INPUTS if path.exists()))
    data_files = [name for name in ("nlu.yml", "rules.yml", "stories.yml") if name in files]
    project = PeerProject(build_root / key, key, data_files)
    project.root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = project.file(name)
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
    return project


def train_peer(project: PeerProject, env: RasaEnv, *, force: bool = False) -> tuple[Path, bool]:
    """``(model, trained now?)``: ``rasa train`` (NLU and dialogue) unless the model is cached."""
    target = project.model
    if target.exists() and not force:
        return target, False
    data = [str(project.file(name)) for name in project.data_files]
    run_rasa_training(
        env,
        [
            "--config",
            str(project.file("config.yml")),
            "--domain",
            str(project.file("domain.yml")),
            "--data",
            *data,
        ],
        cwd=project.root,
        target=target,
        log=project.file("train.log"),
        timeout=TRAIN_TIMEOUT_S,
    )
    return target, True


def rest_body(sender: str, message: str) -> bytes:
    return json.dumps({"sender": sender, "message": message}, ensure_ascii=False).encode("utf-8")


class RestPeer(RasaServer):
    """``rasa run`` with the REST channel on ``model``; ``start()`` returns once it answers."""

    def __init__(self, env: RasaEnv, project: PeerProject, model: Path, log_file: Path) -> None:
        super().__init__(env, model, log_file=log_file)
        self.project = project

    def command(self) -> list[str]:
        return rasa_command(
            self.env,
            "run",
            "--model",
            str(self.model),
            "--credentials",
            str(self.project.file("credentials.yml")),
            "--interface",
            self.host,
            "--port",
            str(self.port),
        )

    def start(self, timeout: float = START_TIMEOUT_S) -> RestPeer:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.project.root,
                env=rasa_process_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() ends its children too
            )
        try:
            self._wait_until_it_answers(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_it_answers(self, timeout: float) -> None:
        """No ``/status`` without ``--enable-api``: ask it something until it answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                tail = self.log_file.read_text(encoding="utf-8", errors="replace")[-3000:]
                raise RasaRunError(f"rasa run exited with {self.process.returncode}:\n{tail}")
            with contextlib.suppress(httpx.HTTPError, ValueError):
                answer = httpx.post(
                    f"{self.url}{REST_PATH}",
                    content=rest_body("warm-up", "สวัสดีครับ"),
                    headers={"Content-Type": "application/json"},
                    timeout=60,
                )
                if answer.status_code == 200 and answer.json():
                    return
            time.sleep(0.5)
        raise RasaRunError(f"rasa run did not answer within {timeout:.0f} s (log: {self.log_file})")


def main() -> int:
    from nlu.rasa_env import ensure

    env = ensure()
    policies = sys.argv[1] if len(sys.argv) > 1 else "default"
    project = build_peer_project(policies=policies)
    model, trained = train_peer(project, env)
    print(f"peer model {'trained' if trained else 'cached'}: {model}")
    with RestPeer(env, project, model, project.file("serve.log")) as peer:
        for text in ("สวัสดีครับ", "จองชื่อบริษัทยังไงคะ", "ขอบคุณค่ะ"):
            answer = httpx.post(
                f"{peer.url}{REST_PATH}",
                content=rest_body("demo", text),
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            print(text, "->", [m.get("text", "")[:60] for m in answer.json()])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

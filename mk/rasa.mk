# Rasa NLU targets, included by the main Makefile (`include mk/rasa.mk`).
#   make rasa-env    Rasa's Python 3.10 venv, cached under $${XDG_CACHE_HOME:-~/.cache}/govchat/
#   make rasa-model  generate the training data and train, unless nothing changed
# With RASA_OPTIONAL=1 a machine without Python 3.10 only gets a warning (make run then
# starts the hub on the embedded engine); otherwise it is an error (exit 3).

HUB_PYTHON ?= .venv/bin/python
RASA_OPTIONAL ?= 0

.PHONY: rasa-env rasa-model

rasa-env:
	@$(HUB_PYTHON) -m nlu.rasa_env ensure >/dev/null; rc=$$?; \
	if [ $$rc -eq 3 ] && [ "$(RASA_OPTIONAL)" = "1" ]; then \
		echo "govchat: no Python 3.10, Rasa skipped: the hub answers with the embedded engine" >&2; exit 0; \
	fi; exit $$rc

rasa-model: rasa-env
	@$(HUB_PYTHON) -m nlu.commands train; rc=$$?; \
	if [ $$rc -eq 3 ] && [ "$(RASA_OPTIONAL)" = "1" ]; then exit 0; fi; exit $$rc

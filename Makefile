# Fresh machine: `make demo` (main job) and `make test` (the suite). Both create .venv first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The rosidl-built interface package lands here (see scripts/build_interfaces.sh).
IFACE := interfaces_install

.PHONY: venv interfaces demo test bench clean

$(STAMP): setup.py
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools
	$(PY) -m pip install -q -e ".[ros,rosidl,train,test,cluster,viz]"
	touch $(STAMP)

venv: $(STAMP)

interfaces: $(STAMP)
	bash scripts/build_interfaces.sh $(VENV) $(IFACE)

demo: venv
	$(VENV)/bin/grasp-planner demo --out demo_out

test: venv interfaces
	source scripts/ros_env.sh $(VENV) $(IFACE) && $(PY) -m pytest -q -p no:cacheprovider test

clean:
	rm -rf $(VENV) $(IFACE) build demo_out

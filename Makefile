# kchan: top-level build.  `make demo` and `make check` are the two commands
# the README promises; both install what is missing on a Debian machine.

# Kernels to build for and test on: every Debian amd64 kernel whose headers
# are installed (6.1 from linux-headers-amd64, 6.12 from linux-headers-6.12-amd64).
KVERS ?= $(sort $(patsubst /usr/src/linux-headers-%,%,$(wildcard /usr/src/linux-headers-*-amd64)))
BUILD := $(CURDIR)/build
KSFT_DIR := $(BUILD)/ksft
PRIMES ?= 25

# What we copy for kbuild: it writes objects beside the sources.
KMOD_SRCS := Kbuild $(wildcard kmod/*.c kmod/*.h) uapi/linux/kchan.h

.PHONY: all deps modules userspace examples selftests demo check checkpatch sparse clean

all: modules userspace examples selftests

deps:
	@tools/install-deps.sh

# One kchan.ko per kernel: build/<kver>/kchan.ko
modules: $(foreach k,$(KVERS),$(BUILD)/$(k)/kchan.ko)

$(BUILD)/%/kchan.ko: $(KMOD_SRCS)
	@mkdir -p $(BUILD)/$*
	@tar cf - $(KMOD_SRCS) | tar xf - -C $(BUILD)/$*
	$(MAKE) -C /usr/src/linux-headers-$* M=$(BUILD)/$* W=1 $(if $(C),C=$(C)) modules

userspace:
	$(MAKE) -C userspace

# The Go and Rust examples (shell, Python and C need no separate build step).
examples:
	$(MAKE) -C userspace/examples examples

$(KSFT_DIR)/kselftest_harness.h:
	@tools/fetch-kselftest.sh $(KSFT_DIR)

selftests: $(KSFT_DIR)/kselftest_harness.h
	$(MAKE) -C selftests/chan KSFT_DIR=$(KSFT_DIR)

demo: deps
	$(MAKE) all
	tools/vm/run --kernel $(lastword $(KVERS)) -- userspace/examples/sieve-demo.sh $(PRIMES)

check: deps
	$(MAKE) all
	tools/check.sh $(KVERS)

checkpatch:
	@tools/checkpatch.sh

# Sparse on every kernel: make sparse (needs the sparse package).
sparse:
	$(MAKE) -B modules C=1

clean:
	rm -rf $(BUILD)
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests/chan clean

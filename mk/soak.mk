# The fuzzer (issue 6, tools/fuzz/README.md).
#
#   make kchanfuzz       build/fuzz/kchanfuzz (selftests build chan_fuzz, its
#                        one-minute run that make check and check-debug use)
#   make soak [DURATION=600] [KVER=...] [SEED=S] [PROCS=4] [FAULTS=PCT]
#                        one guest running kchanfuzz for DURATION seconds on
#                        KVER (default: the newest non-RT Debian kernel; the
#                        debug kernels are KVER=6.12.117-kchan-debug and
#                        KVER=6.12.117-kchan-kcsan); fails on
#                        a violation or any kernel report (tools/vm/run).
#                        FAULTS=5 fails 5% of kchan's allocations (debug
#                        kernel only)
.PHONY: kchanfuzz
CHECK_DEBUG_BUILD += kchanfuzz

DURATION ?= 600
PROCS ?= 4
# The Makefile's KVER defaults to the host's kernel (for install): only one
# given on the command line or in the environment picks the soak's kernel.
SOAK_KVER = $(if $(filter command line environment,$(origin KVER)),$(KVER),$(DEMO_KVER))

kchanfuzz:
	$(MAKE) -C tools/fuzz

# deps first (not beside kchanfuzz: cc may be what it installs), then _soak
# in a new make, which sees the headers deps installed (NEEDS_DEPS, the Makefile).
NEEDS_DEPS += soak
_soak: kchanfuzz
	$(call need-kernel,$(SOAK_KVER),KVER)
	$(if $(findstring -kchan-,$(SOAK_KVER)),$(MAKE) debug-module DEBUG_FLAVOUR=$(lastword $(subst -kchan-, ,$(SOAK_KVER))),$(MAKE) $(BUILD)/$(SOAK_KVER)/kchan.ko)
	tools/vm/run --kernel $(SOAK_KVER) --timeout $$(($(DURATION) + 900)) -- \
		build/fuzz/kchanfuzz --duration $(DURATION) --procs $(PROCS) $(if $(SEED),--seed $(SEED)) \
		$(if $(FAULTS),--faults $(FAULTS))

# The history checker (issue 11): selftests/chan/chan_lincheck.c, a workload
# generator and a linearizability + lost-wake-up checker.  make check runs it
# for its default ~52 s (about 45 s of guest time) on every kernel, like every selftest.
#
#   make soak-lincheck [LINCHECK_DURATION=600] [KVER=...] [SEED=S]
#                      one guest running chan_lincheck that long (KVER as for
#                      make soak); fails on a violation or a kernel report
#   make soak          runs it too, before kchanfuzz
LINCHECK_DURATION ?= $(DURATION)

# deps first, then _soak-lincheck in a new make (NEEDS_DEPS, the Makefile):
# SOAK_KVER depends on the headers deps installs.
NEEDS_DEPS += soak-lincheck
_soak-lincheck: selftests
	$(call need-kernel,$(SOAK_KVER),KVER)
	$(if $(findstring -kchan-,$(SOAK_KVER)),$(MAKE) debug-module DEBUG_FLAVOUR=$(lastword $(subst -kchan-, ,$(SOAK_KVER))),$(MAKE) $(BUILD)/$(SOAK_KVER)/kchan.ko)
	tools/vm/run --kernel $(SOAK_KVER) --timeout $$(($(LINCHECK_DURATION) * 2 + 900)) -- \
		build/selftests/chan_lincheck --duration $(LINCHECK_DURATION) $(if $(SEED),--seed $(SEED))

# make soak runs it too, before kchanfuzz, in the same fresh make.
_soak: _soak-lincheck

# The history checker (issue 11): selftests/chan/chan_lincheck.c, a workload
# generator and a linearizability + lost-wake-up checker.  make check runs it
# for its default ~52 s (about 45 s of guest time) on every kernel, like every selftest.
#
#   make soak-lincheck [LINCHECK_DURATION=600] [KVER=...] [SEED=S]
#                      one guest running chan_lincheck that long (KVER as for
#                      make soak); fails on a violation or a kernel report
#   make soak          runs it too, after kchanfuzz
.PHONY: soak-lincheck
LINCHECK_DURATION ?= $(DURATION)

soak-lincheck: deps selftests
	$(if $(filter %-kchan-debug,$(SOAK_KVER)),$(MAKE) debug-module,$(MAKE) $(BUILD)/$(SOAK_KVER)/kchan.ko)
	tools/vm/run --kernel $(SOAK_KVER) --timeout $$(($(LINCHECK_DURATION) * 2 + 900)) -- \
		build/selftests/chan_lincheck --duration $(LINCHECK_DURATION) $(if $(SEED),--seed $(SEED))

soak: soak-lincheck

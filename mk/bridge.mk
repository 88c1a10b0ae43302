# chanbridge (issue 4): built by `make userspace` (and so `make all`);
# `make fuzz [FUZZ_SECONDS=60]` runs the frame decoder's libFuzzer target.
.PHONY: bridge fuzz
userspace: bridge
bridge:
	$(MAKE) -C userspace/chanbridge

FUZZ_SECONDS ?= 60
fuzz:
	$(MAKE) -C userspace/chanbridge fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

# chanbridge (issue 4): built by `make userspace` (and so `make all`);
# `make fuzz [FUZZ_SECONDS=60]` runs the frame decoder's libFuzzer target.
.PHONY: bridge fuzz
userspace: bridge
# The fuzz targets too (clang is a dependency): the host tests replay
# their seeds and the inputs that once broke the bridge.
bridge:
	$(MAKE) -C userspace/chanbridge all fuzz-build

FUZZ_SECONDS ?= 60
fuzz:
	$(MAKE) -C userspace/chanbridge fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

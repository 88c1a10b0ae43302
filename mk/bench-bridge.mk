# make bench-bridge: chanbridge against a raw TCP relay (socat) between two
# guests, 64 B and 4 KiB messages (tools/bench/README.md, "chanbridge").
# deps first, then _bench-bridge in a new make (NEEDS_DEPS, the Makefile).
NEEDS_DEPS += bench-bridge
_bench-bridge:
	$(call need-kernel,$(DEMO_KVER),DEMO_KVER)
	$(MAKE) modules userspace
	tools/bench/bridge.sh --kernel $(DEMO_KVER)

# make bench-bridge: chanbridge against a raw TCP relay (socat) between two
# guests, 64 B and 4 KiB messages (tools/bench/README.md, "chanbridge").
.PHONY: bench-bridge
bench-bridge: deps
	$(MAKE) modules userspace
	tools/bench/bridge.sh --kernel $(DEMO_KVER)

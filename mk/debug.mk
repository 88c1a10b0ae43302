# The debug-kernel lane (issue 6): `make check-debug` runs every guest test
# program on a kernel built with KASAN, lockdep, kmemleak, UBSAN, debug
# objects and fault injection (tools/debug-kernel/, tools/check-debug.sh).
#
#   make debug-kernel    build it once, cached in ~/.cache/kchan/debug-kernel
#   make debug-module    build/<debug kernel release>/kchan.ko against it
#   make check-debug     both, the test programs, then the tests on it
#
# Other fragments add what the lane must build to CHECK_DEBUG_BUILD
# (e.g. CHECK_DEBUG_BUILD += fuzz).
CHECK_DEBUG_BUILD += userspace examples selftests
DEBUG_JOBS ?= $(shell nproc)

.PHONY: debug-kernel debug-module check-debug-build

# deps first, then _check-debug in a new make (NEEDS_DEPS, the Makefile).
NEEDS_DEPS += check-debug
_check-debug:
	tools/check-debug.sh

debug-kernel:
	tools/debug-kernel/build --jobs $(DEBUG_JOBS) >/dev/null

# The cached kernel's directory is only known once it is built: find it, then
# build the module with a rule for exactly that release.
debug-module: debug-kernel
	@d=$$(tools/debug-kernel/build --print-dir) && \
	$(MAKE) --no-print-directory DEBUG_KDIR=$$d $(BUILD)/$$(cat $$d/release)/kchan.ko

check-debug-build:
	$(MAKE) $(CHECK_DEBUG_BUILD)

ifneq ($(DEBUG_KDIR),)
DEBUG_KVER := $(shell cat $(DEBUG_KDIR)/release)
# The same as $(BUILD)/%/kchan.ko, against the debug kernel's build tree; a
# rebuilt kernel (a new release file) rebuilds the module.
$(BUILD)/$(DEBUG_KVER)/kchan.ko: $(KMOD_SRCS) $(DEBUG_KDIR)/release
	@mkdir -p $(BUILD)/$(DEBUG_KVER)
	@tar cf - $(KMOD_SRCS) | tar xf - -C $(BUILD)/$(DEBUG_KVER)
	$(MAKE) -C $(DEBUG_KDIR)/build M=$(BUILD)/$(DEBUG_KVER) W=1 $(if $(C),C=$(C)) modules
endif

# The debug-kernel lanes (issues 6 and 11): guest test programs on kernels
# built with the kernel's own bug detectors (tools/debug-kernel/,
# tools/check-debug.sh).
#
#   make check-debug     the selftest and stress suite on the "debug" kernel:
#                        KASAN, lockdep, kmemleak, UBSAN, debug objects,
#                        fault injection (6.12.117-kchan-debug)
#   make check-kcsan     the concurrency tests on the "kcsan" kernel: KCSAN,
#                        the data-race detector (6.12.117-kchan-kcsan)
#   make debug-kernel [DEBUG_FLAVOUR=debug|kcsan]
#                        build it once, cached in ~/.cache/kchan/debug-kernel
#   make debug-module [DEBUG_FLAVOUR=debug|kcsan]
#                        build/<its release>/kchan.ko against it
#
# Other fragments add what the lanes must build to CHECK_DEBUG_BUILD
# (e.g. CHECK_DEBUG_BUILD += fuzz).
CHECK_DEBUG_BUILD += userspace examples selftests
DEBUG_JOBS ?= $(shell nproc)
DEBUG_FLAVOUR ?= debug

.PHONY: debug-kernel debug-module check-debug-build

# deps first, then _check-debug / _check-kcsan in a new make (NEEDS_DEPS, the Makefile).
NEEDS_DEPS += check-debug check-kcsan
_check-debug:
	tools/check-debug.sh --flavour debug

_check-kcsan:
	tools/check-debug.sh --flavour kcsan

debug-kernel:
	tools/debug-kernel/build --flavour $(DEBUG_FLAVOUR) --jobs $(DEBUG_JOBS) >/dev/null

# The cached kernel's directory is only known once it is built: find it, then
# build the module with a rule for exactly that release.
debug-module: debug-kernel
	@d=$$(tools/debug-kernel/build --flavour $(DEBUG_FLAVOUR) --print-dir) && \
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

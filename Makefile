# kchan: top-level build.  `make demo` and `make check` are the two commands
# the README promises; both install what is missing on a Debian machine.

# Kernels to build for and test on: every Debian amd64 kernel whose headers
# are installed (6.1 from linux-headers-amd64, 6.12 from linux-headers-6.12-amd64).
# These depend on installed packages: see "Targets that need the packages".
# KHEADERS: where the linux-headers-* trees are (another directory: the tests).
KHEADERS ?= /usr/src
KVERS ?= $(sort $(patsubst $(KHEADERS)/linux-headers-%,%,$(wildcard $(KHEADERS)/linux-headers-*-amd64)))
BUILD := $(CURDIR)/build
KSFT_DIR := $(BUILD)/ksft
PRIMES ?= 25
# make demo PRIMES=N: one process per prime (about 0.5 MiB each, hence the
# guest's memory) and N^2 messages (hence its timeout), as sieve-demo.sh says.
DEMO_MEM = $(shell echo $$(( 1024 + $(PRIMES) / 2 )))M
# make demo CAPACITY=C: buffered sieve channels of capacity C (default 0: unbuffered, as Go's).
CAPACITY ?= 0
DEMO_CMD = userspace/examples/sieve-demo.sh $(if $(filter-out 0,$(CAPACITY)),-c $(CAPACITY) )$(PRIMES)
DEMO_TIMEOUT = $(shell echo $$(( 600 + $(PRIMES) * $(PRIMES) / 2000 )))
# The demo's kernel: the newest non-RT one.
DEMO_KVER ?= $(lastword $(filter-out %-rt-amd64,$(KVERS)))

# What we copy for kbuild: it writes objects beside the sources.
KMOD_SRCS := Kbuild $(wildcard kmod/*.c kmod/*.h) uapi/linux/kchan.h

.PHONY: all deps modules userspace examples selftests demo check checkpatch sparse clean \
	install uninstall install-module install-userspace uninstall-module uninstall-userspace \
	dkms-source uninstall-dkms-source

all: modules userspace examples selftests

# --- Targets that need the packages ------------------------------------------
# `make demo` on a machine without the packages installs them (deps) and then
# builds against them, so nothing that depends on them may be computed before
# deps has run: KVERS and DEMO_KVER come from the headers deps installs, and
# make evaluates prerequisite lists and reads directories (its $(wildcard),
# cached) as it parses.  So each target X in NEEDS_DEPS is two steps: deps,
# then a new make of the internal target _X, which parses everything afresh.
# A fragment adds its own: `NEEDS_DEPS += X` and a rule for _X (the rule that
# makes X itself is at the end, after the fragments).  `make _X` skips deps.
NEEDS_DEPS := demo check bench

deps:
	@tools/install-deps.sh

# $(call need-kernel,KVER,VARIABLE): a recipe line that stops with a hint
# when KVER is empty (no headers even after deps), instead of running a
# guest for an empty kernel release.
need-kernel = @test -n "$(1)" || { echo "make $(@:_%=%): no kernel: no $(KHEADERS)/linux-headers-*-amd64" \
	"(tools/install-deps.sh installs them), and no $(2)= given" >&2; exit 1; }

# One kchan.ko per kernel: build/<kver>/kchan.ko
modules: $(foreach k,$(KVERS),$(BUILD)/$(k)/kchan.ko)

$(BUILD)/%/kchan.ko: $(KMOD_SRCS)
	@mkdir -p $(BUILD)/$*
	@tar cf - $(KMOD_SRCS) | tar xf - -C $(BUILD)/$*
	$(MAKE) -C $(KHEADERS)/linux-headers-$* M=$(BUILD)/$* W=1 $(if $(C),C=$(C)) modules

userspace:
	$(MAKE) -C userspace

# The Go and Rust examples (shell, Python and C need no separate build step).
examples:
	$(MAKE) -C userspace/examples examples

$(KSFT_DIR)/kselftest_harness.h:
	@tools/fetch-kselftest.sh $(KSFT_DIR)

selftests: $(KSFT_DIR)/kselftest_harness.h
	$(MAKE) -C selftests/chan KSFT_DIR=$(KSFT_DIR)

# make demo, make check: deps, then these (see NEEDS_DEPS).
_demo:
	$(call need-kernel,$(DEMO_KVER),DEMO_KVER)
	$(MAKE) all
	tools/vm/run --kernel $(DEMO_KVER) --mem $(DEMO_MEM) --timeout $(DEMO_TIMEOUT) -- $(DEMO_CMD)

_check:
	$(MAKE) all
	tools/check.sh $(KVERS)

# make bench: kchan against pipe, mqueue, seqpacket, eventfd in one guest run (tools/bench/README.md)
_bench:
	$(call need-kernel,$(DEMO_KVER),DEMO_KVER)
	$(MAKE) modules $(KSFT_DIR)/kselftest_harness.h
	$(MAKE) -C tools/bench KSFT_DIR=$(KSFT_DIR)
	tools/bench/run.sh --kernel $(DEMO_KVER)

checkpatch:
	@tools/checkpatch.sh

# Sparse on every kernel: make sparse (needs the sparse package).
sparse:
	$(MAKE) -B modules C=1

# --- install ------------------------------------------------------------------
# make install [DESTDIR=/staging] [PREFIX=/usr/local] [KVER=$(uname -r)]
#
#   /lib/modules/KVER/updates/kchan.ko[.xz]    kbuild's modules_install, then
#                                              depmod (not with DESTDIR: the
#                                              target system runs it)
#   PREFIX/bin/chanctl
#   PREFIX/include/linux/kchan.h               the uapi header
#   PREFIX/share/man/man1/chanctl.1, man7/kchan.7
#   PREFIX/share/bash-completion/completions/chanctl
#   PREFIX/lib/libchan.*, PREFIX/include/libchan.h, pkg-config, libchan(3):
#                                              `make -C userspace install`
#
# `make uninstall` with the same variables removes exactly these files (and,
# under a DESTDIR, the directories that leaves empty; never on the live
# system, where /usr/local/bin and the like stay).
# Without headers for KVER the module part stops with a hint; dkms.conf is
# the other way to install the module (it rebuilds it for new kernels).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
LIBDIR ?= $(PREFIX)/lib
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
INSTALL_MOD_DIR ?= updates
DEPMOD ?= depmod
MODDIR = $(DESTDIR)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)
# Debian's headers ask for signing (MODULE_SIG_ALL) with a key they do not
# ship: kbuild then prints OpenSSL errors and installs the module unsigned.
# Without the key, skip the attempt; with it (a self-built kernel), sign.
SIG_KEY = $(shell sed -n 's/^CONFIG_MODULE_SIG_KEY="\(.*\)"$$/\1/p' $(KDIR)/.config 2>/dev/null)
NO_SIGN = $(if $(filter pkcs11:%,$(SIG_KEY)),,$(if $(wildcard $(KDIR)/$(SIG_KEY) $(SIG_KEY)),,CONFIG_MODULE_SIG_ALL=))

install: install-module install-userspace

install-module:
	@test -d $(KDIR)/ || { echo "install: no kernel headers for $(KVER) in $(KDIR):" \
		"install linux-headers-$(KVER), or pass KVER=... (or KDIR=...)" >&2; exit 1; }
	@mkdir -p $(BUILD)/$(KVER)
	@tar cf - $(KMOD_SRCS) | tar xf - -C $(BUILD)/$(KVER)
	$(MAKE) -C $(KDIR) M=$(BUILD)/$(KVER) W=1 modules
	$(MAKE) -C $(KDIR) M=$(BUILD)/$(KVER) INSTALL_MOD_PATH=$(abspath $(DESTDIR)) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) $(NO_SIGN) modules_install
ifeq ($(DESTDIR),)
	$(DEPMOD) -a $(KVER)
else
	@echo "install: DESTDIR is set: run 'depmod -a $(KVER)' where the module ends up"
endif

install-userspace:
	$(MAKE) -C userspace $(BUILD)/userspace/chanctl
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCLUDEDIR)/linux \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BUILD)/userspace/chanctl $(DESTDIR)$(BINDIR)/chanctl
	install -m 0644 uapi/linux/kchan.h $(DESTDIR)$(INCLUDEDIR)/linux/kchan.h
	install -m 0644 userspace/man/chanctl.1 $(DESTDIR)$(MANDIR)/man1/chanctl.1
	install -m 0644 userspace/man/kchan.7 $(DESTDIR)$(MANDIR)/man7/kchan.7
	install -m 0644 userspace/completion/chanctl $(DESTDIR)$(BASHCOMPDIR)/chanctl
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) \
		INCLUDEDIR=$(INCLUDEDIR) MANDIR=$(MANDIR)
ifeq ($(DESTDIR),)
	-ldconfig
endif

uninstall: uninstall-module uninstall-userspace
ifneq ($(DESTDIR),)
	@for d in $(MODDIR) $(addprefix $(DESTDIR),$(BINDIR) $(INCLUDEDIR)/linux \
			$(MANDIR)/man1 $(MANDIR)/man3 $(MANDIR)/man7 $(BASHCOMPDIR) \
			$(LIBDIR)/pkgconfig $(INCLUDEDIR)); do \
		while [ "$${d#$(DESTDIR)/}" != "$$d" ] && rmdir "$$d" 2>/dev/null; do \
			d=$${d%/*}; \
		done; \
	done
endif

uninstall-module:
	rm -f $(addprefix $(MODDIR)/kchan.ko,'' .xz .gz .zst)
ifeq ($(DESTDIR),)
	if [ -d /lib/modules/$(KVER) ]; then $(DEPMOD) -a $(KVER); fi
endif

uninstall-userspace:
	rm -f $(DESTDIR)$(BINDIR)/chanctl $(DESTDIR)$(INCLUDEDIR)/linux/kchan.h \
		$(DESTDIR)$(MANDIR)/man1/chanctl.1 $(DESTDIR)$(MANDIR)/man7/kchan.7 \
		$(DESTDIR)$(BASHCOMPDIR)/chanctl
	$(MAKE) -C userspace uninstall DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) \
		INCLUDEDIR=$(INCLUDEDIR) MANDIR=$(MANDIR)
ifeq ($(DESTDIR),)
	-ldconfig
endif

# make dkms-source [DESTDIR=]: what DKMS needs (dkms.conf and the module's
# sources, not the whole checkout) in /usr/src/kchan-VERSION; then
# `dkms add kchan/VERSION && dkms install kchan/VERSION`.
DKMS_VERSION = $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
DKMS_SRC = $(DESTDIR)/usr/src/kchan-$(DKMS_VERSION)

dkms-source:
	install -d $(DKMS_SRC)
	tar cf - dkms.conf $(KMOD_SRCS) | tar xf - --no-same-owner -C $(DKMS_SRC)

uninstall-dkms-source:
	rm -rf $(DKMS_SRC)

# Feature fragments: mk/<feature>.mk, one owner each (bridge, fuzz, debug lane, ...).
-include $(sort $(wildcard mk/*.mk))

# Every target that needs the packages (NEEDS_DEPS, with the fragments'):
# deps, then a new make for the rest.  The new make's output and exit status
# are the target's (make check's last line stays "N passed, N failed").
.PHONY: $(NEEDS_DEPS) $(addprefix _,$(NEEDS_DEPS))
$(NEEDS_DEPS): deps
	@$(MAKE) --no-print-directory _$@

clean:
	rm -rf $(BUILD)
	$(MAKE) -C userspace clean
	$(MAKE) -C selftests/chan clean

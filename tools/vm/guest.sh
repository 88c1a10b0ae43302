#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest, chrooted into the host's read-only root, as root.
# tools/vm/run copies it into the run directory (/run/kchan-vm in the guest)
# next to `argv` (the command, NUL-separated) and `env` (shell assignments).
#
# Loads the module, runs the command, then checks what the host cannot see
# from outside: that the module unloads and that the kernel is not tainted.
# The last thing it does is write one status line to the port named in $1;
# the host treats a missing status line as a crashed guest.
set -uo pipefail

status_port=$1
run=/run/kchan-vm
# shellcheck source=/dev/null
. "$run/env"		# KCHAN_KO, KCHAN_KVER, KCHAN_VM_CWD

say() { echo "kchan-vm: $*" >/dev/kmsg; }
report() { echo "kchan-vm: $*" >&2; say "$*"; }

mapfile -d '' argv <"$run/argv"

# A clean, predictable environment: nothing from the kernel command line.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root USER=root LOGNAME=root SHELL=/bin/bash LANG=C.UTF-8 TERM=dumb
export KCHAN_VM=1 KCHAN_KVER KCHAN_KO

# Fault injection (debug kernels): an injected failure is a test's intent,
# not a kernel report, but by default each one dumps a stack ("Call Trace:")
# to the console, which the host would count.  A test that wants the stacks
# sets verbose itself.
for f in /sys/kernel/debug/fail*/verbose; do
	[ -w "$f" ] && echo 0 >"$f"
done

# KCSAN (the kcsan debug kernel): a data race the core kernel has on its
# own, known and benign, is no report about kchan; filter it by the function
# at the top of either access (debugfs "!func", the default blacklist mode;
# a name this kernel lacks is refused, which is fine).  Each with its reason:
#   pollwake / poll_schedule_timeout: fs/select.c's pwq->triggered, set by
#     the waker after smp_wmb() (select.c:205) and read without a lock by the
#     poller about to sleep (select.c:240); the task state set before the
#     read makes a stale read harmless (the wake-up then finds the poller
#     runnable), as the comments there explain.  Any wake_up_poll() from
#     kchan (kchan_wait) can meet a poller there.
#   __memcg_slab_free_hook: a "race at unknown origin" on a slab page's
#     flags word, read plainly for its section bits (mm.h page_to_section,
#     via slab_address(), memcontrol.c:3033) while another CPU flips one of
#     the word's page-flag bits; the section bits never change.  Any kfree
#     of a charged allocation (kchan's messages are GFP_KERNEL_ACCOUNT)
#     can meet it.
kcsan=/sys/kernel/debug/kcsan
if [ -w "$kcsan" ]; then
	for f in pollwake poll_schedule_timeout poll_schedule_timeout.constprop.0 \
		__memcg_slab_free_hook; do
		echo "!$f" >"$kcsan" 2>/dev/null
	done
fi

# kmemleak: what boot left unreferenced is not ours to report; mark it
# (scan, then clear greys what the scan reported) before the module loads.
kmemleak=/sys/kernel/debug/kmemleak
if [ -w "$kmemleak" ]; then
	echo scan >"$kmemleak"
	echo clear >"$kmemleak"
fi

insmod=none
if [ -n "$KCHAN_KO" ]; then
	say "loading kchan"	# tools/vm/run: a crash before this is a boot flake
	# The module brings the kchan filesystem; /dev/chan is its
	# instance here, as a dev-chan.mount unit makes it on a real system.
	if insmod "$KCHAN_KO" && mkdir -p /dev/chan &&
		mount -t kchan kchan /dev/chan; then
		insmod=ok
	else
		insmod=failed
		report "insmod $KCHAN_KO failed"
	fi
fi

rc=125
if [ "$insmod" != failed ]; then
	say "running: ${argv[*]}"
	cd "$KCHAN_VM_CWD" && { "${argv[@]}"; rc=$?; }
	say "command exited with $rc"
fi

# Stray processes (a test's leftover child, say) may still hold channel fds,
# which would keep the module busy: kill them first.  kill -1 spares init
# and ourselves.
kill -KILL -1 2>/dev/null

# Every kchan instance pins the module: unmount them all (the command's
# own mounts too), innermost first.
awk '$3 == "kchan" { print $2 }' /proc/mounts | tac | while read -r m; do
	umount -l "$m" 2>/dev/null || report "umount $m failed"
done

unload=none
if [ -d /sys/module/kchan ]; then
	# SIGKILLed processes drop their files asynchronously: retry briefly.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		rmmod kchan 2>/dev/null && break
		sleep 0.2
	done
	if [ -d /sys/module/kchan ]; then
		unload=failed
		report "rmmod kchan failed: $(rmmod kchan 2>&1)"
	else
		unload=ok
	fi
fi

# kmemleak (the debug kernel has it): what the module or the command left
# behind.  An object is reported only when it is older than 5 s and one scan
# found nothing pointing at it; scan twice with a pause so the last
# allocations count too, and so a pointer in flight does not read as a leak.
# The report goes to the console, where the host finds "unreferenced object".
leaks=none
if [ -w "$kmemleak" ]; then
	say "kmemleak: scanning"
	echo scan >"$kmemleak"
	sleep 6
	echo scan >"$kmemleak"
	leaks=$(grep -c '^unreferenced object' "$kmemleak")
	if [ "$leaks" != 0 ]; then
		report "kmemleak: $leaks unreferenced objects"
		while IFS= read -r l; do
			echo "kmemleak: $l" >/dev/kmsg
		done <"$kmemleak"
	fi
fi

tainted=$(cat /proc/sys/kernel/tainted)
line="status exit=$rc insmod=$insmod unload=$unload tainted=$tainted leaks=$leaks"
say "$line"
echo "$line" >"$status_port"

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thin wrappers around the kchan ioctls (uapi/linux/kchan.h), shared by
 * chanctl and the examples, and meant to be absorbed by a future libchan.
 *
 * Like liburing, every function returns 0 (or a file descriptor) on success
 * and -errno on failure; none of them prints anything or touches errno's
 * meaning for the caller.  Every struct is passed with .size = sizeof(struct),
 * so a binary built against a newer header still runs on an older kernel
 * and the other way round (see the ABI comment in kchan.h).
 */
#ifndef KCHAN_IOCTL_H
#define KCHAN_IOCTL_H

#include <linux/kchan.h>

/* Open /dev/chan-control read-write and close-on-exec: fd or -errno. */
int kchan_control_open(void);

/*
 * Create channel @name: capacity 0 is unbuffered, msg_max 0 is
 * KCHAN_MSG_MAX_DEFAULT, mode 0 is 0600, flags are KCHAN_CREATE_*.
 * A name that does not fit in struct kchan_create is -ENAMETOOLONG without
 * asking the kernel (which would say -EINVAL).
 */
int kchan_create(int control_fd, const char *name, unsigned int capacity,
		 unsigned int msg_max, unsigned int mode, unsigned int flags);

/*
 * Create timer channel @name (Go's time.After or time.Ticker): @flags is
 * KCHAN_CREATE_AFTER or KCHAN_CREATE_TICK, @period_ns the delay or period.
 * Needs a kernel with timer channels (KCHAN_CREATE_SIZE_VER1).
 */
int kchan_create_timer(int control_fd, const char *name, unsigned int mode,
		       unsigned int flags, unsigned long long period_ns);

/* Destroy / close (Go's close) channel @name through the control device. */
int kchan_destroy(int control_fd, const char *name);
int kchan_close_name(int control_fd, const char *name);

/* Go's close() through a channel fd open for writing. */
int kchan_close(int chan_fd);

/* Go's len() and cap() and the rest: fills *info, whose size it sets. */
int kchan_info(int chan_fd, struct kchan_info *info);

/*
 * Go's select over @ncases cases (KCHAN_IOC_SELECT, issued on @fd: the
 * control device or any channel fd).  @timeout_ns < 0 waits for ever, 0
 * never waits.  On success *@result holds the case done (index), and for
 * a receive its length (result_len) or KCHAN_SELECT_CLOSED (result_flags).
 * On a per-case error, result->index names the case.
 */
int kchan_select(int fd, struct kchan_select_case *cases, unsigned int ncases,
		 long long timeout_ns, struct kchan_select *result);

/*
 * Whether @name is a valid channel name (1..KCHAN_NAME_MAX-1 bytes of
 * [A-Za-z0-9._-], not starting with '.'), exactly as the kernel checks it.
 * Tools use it before building a path such as /sys/class/chan/<name>.
 */
int kchan_name_valid(const char *name);

#endif /* KCHAN_IOCTL_H */

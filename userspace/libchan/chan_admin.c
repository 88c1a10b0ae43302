// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * libchan: chan_available(), for tools that administer channels.
 *
 * Every verb that works by name opens the control device itself and fails
 * with ENOENT both when kchan is not loaded and when the channel does not
 * exist; a tool that wants to tell the two apart asks here first.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <linux/kchan.h>

#include "libchan.h"

#define CHAN_EXPORT __attribute__((visibility("default")))

CHAN_EXPORT int chan_available(void)
{
	int fd = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;	/* errno is already set, as every verb's */
	close(fd);
	return 0;
}

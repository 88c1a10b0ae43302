// SPDX-License-Identifier: GPL-2.0
/*
 * close() of a model file is its release (kchm_release()), for code that
 * closes its kchan fds itself, as chanbridge does: link with
 * -Wl,--wrap=close.
 */
#include <unistd.h>

#include "kch_model.h"

int __real_close(int fd);
int __wrap_close(int fd);

int __wrap_close(int fd)
{
	if (kchm_is_file(fd))
		return kchm_release(fd);
	return __real_close(fd);
}

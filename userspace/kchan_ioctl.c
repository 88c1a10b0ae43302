// SPDX-License-Identifier: GPL-2.0
/* Thin wrappers around the kchan ioctls; see kchan_ioctl.h. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kchan_ioctl.h"

int kchan_control_open(void)
{
	int fd = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Copy @name into a name[KCHAN_NAME_MAX] field, NUL-terminated. */
static int name_copy(char dst[KCHAN_NAME_MAX], const char *name)
{
	size_t len = strlen(name);

	if (len >= KCHAN_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(dst, name, len + 1);
	return 0;
}

int kchan_create(int control_fd, const char *name, unsigned int capacity,
		 unsigned int msg_max, unsigned int mode, unsigned int flags)
{
	struct kchan_create req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = flags;
	req.capacity = capacity;
	req.msg_max = msg_max;
	req.mode = mode;
	ret = name_copy(req.name, name);
	if (ret)
		return ret;
	return ioctl(control_fd, KCHAN_IOC_CREATE, &req) < 0 ? -errno : 0;
}

int kchan_create_timer(int control_fd, const char *name, unsigned int mode,
		       unsigned int flags, unsigned long long period_ns)
{
	struct kchan_create req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = flags;
	req.mode = mode;
	req.period_ns = period_ns;
	ret = name_copy(req.name, name);
	if (ret)
		return ret;
	return ioctl(control_fd, KCHAN_IOC_CREATE, &req) < 0 ? -errno : 0;
}

static int name_ioctl(int control_fd, unsigned long cmd, const char *name)
{
	struct kchan_name req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	ret = name_copy(req.name, name);
	if (ret)
		return ret;
	return ioctl(control_fd, cmd, &req) < 0 ? -errno : 0;
}

int kchan_destroy(int control_fd, const char *name)
{
	return name_ioctl(control_fd, KCHAN_IOC_DESTROY, name);
}

int kchan_close_name(int control_fd, const char *name)
{
	return name_ioctl(control_fd, KCHAN_IOC_CLOSE_NAME, name);
}

int kchan_close(int chan_fd)
{
	return ioctl(chan_fd, KCHAN_IOC_CLOSE) < 0 ? -errno : 0;
}

int kchan_info(int chan_fd, struct kchan_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(chan_fd, KCHAN_IOC_INFO, info) < 0 ? -errno : 0;
}

int kchan_select(int fd, struct kchan_select_case *cases, unsigned int ncases,
		 long long timeout_ns, struct kchan_select *result)
{
	memset(result, 0, sizeof(*result));
	result->size = sizeof(*result);
	result->cases = (__u64)(unsigned long)cases;
	result->ncases = ncases;
	result->case_size = sizeof(*cases);
	result->timeout_ns = timeout_ns;
	result->index = -1;
	return ioctl(fd, KCHAN_IOC_SELECT, result) < 0 ? -errno : 0;
}

int kchan_name_valid(const char *name)
{
	size_t i;

	if (name[0] == '\0' || name[0] == '.')
		return 0;
	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i >= KCHAN_NAME_MAX - 1)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

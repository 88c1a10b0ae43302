// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kch.h"

int kch_open(const char *name, int write)
{
	char path[sizeof(KCHAN_DEV_DIR) + KCHAN_NAME_MAX + 1];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", KCHAN_DEV_DIR, name);
	fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int kch_create(const char *name, uint32_t capacity, uint32_t msg_max)
{
	struct kchan_create c = { .size = sizeof(c), .capacity = capacity, .msg_max = msg_max };
	int fd, rc;

	snprintf(c.name, sizeof(c.name), "%s", name);
	fd = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = ioctl(fd, KCHAN_IOC_CREATE, &c) < 0 ? -errno : 0;
	close(fd);
	return rc == -EEXIST ? 1 : rc;
}

int kch_info(int fd, struct kchan_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, KCHAN_IOC_INFO, info) < 0 ? -errno : 0;
}

int kch_hold(int fd, void *buf, size_t len, uint64_t *id, uint64_t *seq, uint32_t *deliveries)
{
	struct kchan_hold h = { .size = sizeof(h), .buf = (uintptr_t)buf, .len = len };
	int rc = ioctl(fd, KCHAN_IOC_HOLD, &h);

	if (rc < 0)
		return -errno;
	*id = h.id;
	*seq = h.seq;
	*deliveries = h.deliveries;
	return (int)h.len;
}

int kch_ack(int fd, uint64_t id)
{
	struct kchan_ack a = { .size = sizeof(a), .id = id };

	return ioctl(fd, KCHAN_IOC_ACK, &a) < 0 ? -errno : (int)a.count;
}

/* KCHAN_IOC_RETURN of the holds with an id >= from_id (0: all): the count. */
static int kch_return(int fd, uint64_t from_id, uint32_t flags)
{
	struct kchan_ack a = { .size = sizeof(a), .flags = flags, .id = from_id };

	return ioctl(fd, KCHAN_IOC_RETURN, &a) < 0 ? -errno : (int)a.count;
}

int kch_return_all(int fd)
{
	return kch_return(fd, 0, 0);
}

int kch_return_unsent(int fd, uint64_t from_id)
{
	return kch_return(fd, from_id, KCHAN_RETURN_UNSENT);
}

int kch_send_once(int fd, const void *buf, size_t len, uint64_t stream, uint64_t seq)
{
	struct kchan_send_once s = {
		.size = sizeof(s), .buf = (uintptr_t)buf, .len = len, .stream = stream, .seq = seq,
	};

	if (ioctl(fd, KCHAN_IOC_SEND_ONCE, &s) < 0)
		return -errno;
	return !!(s.result_flags & KCHAN_SEND_DUPLICATE);
}

int kch_stream_seq(int fd, uint64_t stream, uint64_t *seq)
{
	struct kchan_stream_seq s = { .size = sizeof(s), .stream = stream };

	if (ioctl(fd, KCHAN_IOC_STREAM_SEQ, &s) < 0)
		return -errno;
	*seq = s.seq;
	return 0;
}

int kch_stream_forget(int fd, uint64_t stream)
{
	struct kchan_stream_seq s = {
		.size = sizeof(s), .flags = KCHAN_STREAM_FORGET, .stream = stream,
	};

	return ioctl(fd, KCHAN_IOC_STREAM_SEQ, &s) < 0 ? -errno : 0;
}

int kch_close(int fd)
{
	return ioctl(fd, KCHAN_IOC_CLOSE) < 0 ? -errno : 0;
}

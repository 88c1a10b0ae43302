// SPDX-License-Identifier: GPL-2.0
/*
 * kch.h over the model: link this and kch_model.o instead of kch.o, and
 * chanbridge's kernel calls go to the model (kch_model.h).
 */
#include "../kch.h"
#include "kch_model.h"

int kch_open(const char *name, int write)
{
	return kchm_open(name, write);
}

int kch_create(const char *name, uint32_t capacity, uint32_t msg_max)
{
	return kchm_create(name, capacity, msg_max);
}

int kch_info(int fd, struct kchan_info *info)
{
	return kchm_info(fd, info);
}

int kch_hold(int fd, void *buf, size_t len, uint64_t *id, uint64_t *seq, uint32_t *deliveries)
{
	return kchm_hold(fd, buf, len, id, seq, deliveries);
}

int kch_ack(int fd, uint64_t id)
{
	return kchm_ack(fd, id);
}

int kch_return_all(int fd)
{
	return kchm_return_all(fd);
}

int kch_return_unsent(int fd, uint64_t from_id)
{
	return kchm_return_unsent(fd, from_id);
}

int kch_send_once(int fd, const void *buf, size_t len, uint64_t stream, uint64_t seq)
{
	return kchm_send_once(fd, buf, len, stream, seq);
}

int kch_stream_seq(int fd, uint64_t stream, uint64_t *seq)
{
	return kchm_stream_seq(fd, stream, seq);
}

int kch_stream_forget(int fd, uint64_t stream)
{
	uint64_t seq;

	return kchm_stream_forget(fd, stream, &seq);
}

int kch_close(int fd)
{
	return kchm_close(fd);
}

/* SPDX-License-Identifier: GPL-2.0 */
/* The kchan ioctls chanbridge uses, raw through the uapi header; -errno on failure. */
#ifndef CHANBRIDGE_KCH_H
#define CHANBRIDGE_KCH_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kchan.h>

/* Open /dev/chan/NAME non-blocking, O_RDONLY or O_WRONLY. */
int kch_open(const char *name, int write);
/* Create NAME (capacity, msg_max); 1 if it existed already, 0 if created. */
int kch_create(const char *name, uint32_t capacity, uint32_t msg_max);
int kch_info(int fd, struct kchan_info *info);
/*
 * Hold the oldest message: its length (0 at end of file), *id, *seq and
 * *deliveries (1: no receive ever had it before, so no one sent it; more:
 * one had it and gave it back; 0 from a module that does not tell).
 */
int kch_hold(int fd, void *buf, size_t len, uint64_t *id, uint64_t *seq, uint32_t *deliveries);
/* Every hold of this file with an id <= id is gone: the count released. */
int kch_ack(int fd, uint64_t id);
/* Every hold of this file goes back to the head of the channel: the count returned. */
int kch_return_all(int fd);
/*
 * KCHAN_RETURN_UNSENT: the holds of this file with an id >= from_id (0:
 * all), passed on to no one, go back without counting in deliveries.
 */
int kch_return_unsent(int fd, uint64_t from_id);
/* Send once: 0, or 1 when it was a duplicate. */
int kch_send_once(int fd, const void *buf, size_t len, uint64_t stream, uint64_t seq);
int kch_stream_seq(int fd, uint64_t stream, uint64_t *seq);
/* Free the stream's entry (fd open for writing): its old seqs count as new again. */
int kch_stream_forget(int fd, uint64_t stream);
int kch_close(int fd);

#endif

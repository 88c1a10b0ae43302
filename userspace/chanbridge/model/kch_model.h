/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An in-process model of the kchan ioctls chanbridge uses (kch.h), with
 * the kernel's semantics, for host-only tests and fuzzing (issue 13).
 *
 * kchm_* are the model's versions of the kch_* calls, same arguments,
 * same results; kch_model_api.c maps kch_* onto them, so a test binary
 * links kch_model.o + kch_model_api.o instead of kch.o.  The differential
 * test (tests/model_diff.c) links kch.o and kch_model.o side by side and
 * checks one against the other on the real module.
 *
 * Every model file is a real file descriptor, one end of a pipe whose
 * other end the model keeps, so poll, epoll and io_uring see the readiness
 * kchan_poll_mask() (kmod/data.c) would report for it, exactly:
 *   read file   the pipe's read end: POLLIN while a message is readable
 *               (a byte sits in the pipe), POLLHUP at end of file (the
 *               model closed its write end), nothing else;
 *   write file  the pipe's write end, one page big: POLLOUT while a write
 *               would complete (the pipe is empty), POLLERR once the
 *               channel is closed (the model closed its read end, with the
 *               pipe full, so no POLLOUT).
 * Never read(), write() or close() a model fd yourself: use kchm_read(),
 * kchm_write() and kchm_release() (kch_model_wrap.c turns close() into
 * kchm_release() for code that calls close(), with -Wl,--wrap=close).
 *
 * Single-threaded, and every call returns at once, as an O_NONBLOCK file
 * does.  A reader or writer that would block in the kernel (a task asleep
 * in read() or write(), what makes an unbuffered channel writable or
 * readable) is a waiter the harness starts and later collects:
 * kchm_read_begin(), kchm_write_begin(), kchm_waiter_done().
 *
 * Not modelled: timer channels, AUTOCLOSE, destroy, batches, select,
 * faulting copies, SEND_ONCE that waits.
 */
#ifndef CHANBRIDGE_KCH_MODEL_H
#define CHANBRIDGE_KCH_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/kchan.h>

/* The kch.h calls (see there). */
int kchm_open(const char *name, int write);
int kchm_create(const char *name, uint32_t capacity, uint32_t msg_max);
int kchm_info(int fd, struct kchan_info *info);
int kchm_hold(int fd, void *buf, size_t len, uint64_t *id, uint64_t *seq,
	      uint32_t *deliveries);
int kchm_ack(int fd, uint64_t id);
/* KCHAN_IOC_RETURN of the holds with an id >= from_id (0: all): how many. */
int kchm_return(int fd, uint64_t from_id);
int kchm_return_all(int fd);
/* The same with KCHAN_RETURN_UNSENT (flags: 0 or that): not counted in deliveries. */
int kchm_return_flags(int fd, uint64_t from_id, uint32_t flags);
int kchm_return_unsent(int fd, uint64_t from_id);
int kchm_send_once(int fd, const void *buf, size_t len, uint64_t stream, uint64_t seq);
int kchm_stream_seq(int fd, uint64_t stream, uint64_t *seq);
/* KCHAN_IOC_STREAM_SEQ with KCHAN_STREAM_FORGET: the last seq, and the entry is free. */
int kchm_stream_forget(int fd, uint64_t stream, uint64_t *seq);
int kchm_close(int fd);

/* Model only. */

/* Create with a stream table of @streams entries (0: KCHAN_STREAMS_DEFAULT). */
int kchm_create_streams(const char *name, uint32_t capacity, uint32_t msg_max,
			uint32_t streams);
/* read() and write() on an O_NONBLOCK file: bytes, 0 at end of file, or -errno. */
ssize_t kchm_read(int fd, void *buf, size_t len);
ssize_t kchm_write(int fd, const void *buf, size_t len);
/* The last close of the file (kchan_release()): its holds go back. 0 or -EBADF. */
int kchm_release(int fd);
/* Whether @fd is a model file. */
int kchm_is_file(int fd);
/* What poll() reports for @fd in the kernel (POLLIN, POLLOUT, POLLHUP, POLLERR). */
unsigned int kchm_poll(int fd);
/* INFO of the channel @name without a file: 0, or -ENOENT. */
int kchm_info_name(const char *name, struct kchan_info *info);
/* The seqs queued, oldest first, up to @max: how many are queued. */
unsigned int kchm_queued_seqs(const char *name, uint64_t *seqs, unsigned int max);
/*
 * Call @fn for every message an ACK frees, with its channel, seq and how
 * often it came back counted (deliveries - 1 of its last hold; NULL: no
 * more), so a harness can check that only what was delivered is acked.
 */
void kchm_on_ack(void (*fn)(void *arg, const char *name, uint64_t seq, uint32_t returns),
		 void *arg);
/* Release every file and forget every channel: a fresh model. */
void kchm_reset(void);

/*
 * Waiters: a blocking read() or write() on @fd.  *_begin returns what the
 * call returned at once (bytes, 0 at end of file, -errno), or -EINPROGRESS
 * with *w set: the call sleeps on the channel (ch->recvq or ch->sendq)
 * until a counterpart or a close completes it.  A reader's @buf must stay
 * valid until then.  kchm_waiter_done() returns 1 and the result once the
 * waiter completed, and frees it; 0 while it still sleeps.
 * kchm_waiter_cancel() is a signal: the call gives up (-EINTR, as
 * ERESTARTSYS without SA_RESTART) unless it completed already, and the
 * waiter is freed; returns its result.  kchm_reset() completes sleeping
 * waiters with -ENODEV; they are still the caller's to collect.
 */
struct kchm_waiter;
ssize_t kchm_read_begin(int fd, void *buf, size_t len, struct kchm_waiter **w);
ssize_t kchm_write_begin(int fd, const void *buf, size_t len, struct kchm_waiter **w);
int kchm_waiter_done(struct kchm_waiter *w, ssize_t *result);
ssize_t kchm_waiter_cancel(struct kchm_waiter *w);

#endif

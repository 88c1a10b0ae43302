/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The protocol engine's own interface, shared by its files and by nothing
 * else (bridge.h is what serve, import and main see):
 *
 *   conn.c  a connection's life: create, kill, free; the read loop; one
 *           function per frame type, called from a table (as kchan_ioctl
 *           dispatches); timers
 *   io.c    the byte stream, TLS or plain: the TLS handshake, then
 *           conn_io_read() and conn_io_write(), the only two calls that
 *           touch the socket once connected
 *   hs.c    the HELLO exchange (after TLS)
 *   src.c   the source half of a stream: hold, send, ack
 *   dst.c   the destination half: commit, grant credit
 *   out.c   the output: control frames first, then DATA one frame per
 *           stream per round, then flush
 *
 * Every check of what the peer sent ends in conn_kill() or stream_fail()
 * with a reason: nothing a peer sends can do more than close its own
 * connection.
 */
#ifndef CHANBRIDGE_CONN_H
#define CHANBRIDGE_CONN_H

#include <sys/types.h>

#include "bridge.h"

#define PRE_BODY_MAX	64	/* before the handshake: HELLO only */

/* A frame handler: one per frame type. */
typedef void frame_fn(struct conn *c, const struct cb_frame *f);

/* conn.c */
const char *role_name(const struct stream *s);
void msgs_free(struct msg *m);
struct stream *stream_find(struct conn *c, uint32_t chan);
/* The stream a frame names, of role r and still running; NULL if none (killed or ignored). */
struct stream *stream_need(struct conn *c, const struct cb_frame *f, enum role r);
/* The stream ended (S_DONE or S_FAILED): tell serve or import. */
void stream_ended(struct stream *s);

/* io.c: read(2)/write(2) semantics, errno set on -1; TLS failures kill c. */
ssize_t conn_io_read(struct conn *c, void *buf, size_t len);
ssize_t conn_io_write(struct conn *c, const void *buf, size_t len);
int conn_io_pending(const struct conn *c);	/* OpenSSL holds decrypted bytes */
uint32_t conn_io_wants(const struct conn *c);	/* POLLOUT if TLS waits to write */
int conn_tls_new(struct conn *c);	/* 0 also without TLS; -1 out of memory */
void conn_tls_free(struct conn *c);
void conn_tls_step(struct conn *c);	/* in C_TLS: one handshake step */

/* hs.c */
void conn_hello(struct conn *c);	/* the byte stream is up: HELLO, the importer first */
void hs_frame(struct conn *c, const struct cb_frame *f);

/* src.c */
void src_pump(struct stream *s);
struct msg *src_next(struct stream *s);
void src_sent(struct stream *s, struct msg *m);
uint32_t src_wants(const struct stream *s);
/* 1 if a source held a message unacked for too long: the connection is killed. */
int src_stalled(struct conn *c, int64_t now);
frame_fn src_on_resume, src_on_credit, src_on_ack, src_on_close_ack;

/* dst.c */
void dst_pump(struct stream *s);
uint32_t dst_wants(const struct stream *s);
frame_fn dst_on_stream, dst_on_data, dst_on_close;

/* out.c */
int out_put(struct conn *c, const struct cb_frame *f);	/* 0 if it does not fit now */
void out_error(struct conn *c, uint32_t chan, int code, const char *text);
void out_fill(struct conn *c);
void out_flush(struct conn *c);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chanbridge's state: one bridge (serve or import), its connections, and
 * on each connection the streams, one per channel carried.
 */
#ifndef CHANBRIDGE_BRIDGE_H
#define CHANBRIDGE_BRIDGE_H

#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "evloop.h"
#include "frame.h"

#define CB_MAX_CHANS	64	/* channels per connection */
#define CB_MAX_EXPORTS	64
#define CB_WINDOW_MAX	1024	/* messages in flight per channel */
#define CB_CTL_RESERVE	16384	/* output room kept for control frames */
#define CB_HOLD_BUDGET	4096	/* messages one connection may hold, all streams */
#define CB_HOLD_BYTES	(64U << 20)	/* and their bytes */
#define CB_PROGRESS_KEEPALIVES	12	/* held this many keepalives unacked: no progress */

/* What an event's tag points at: every tagged struct starts with this. */
enum tag_kind { T_LISTEN, T_CONN, T_CHAN, T_STATUS, T_SIGNAL };
struct tag { enum tag_kind kind; };

/* Counters of one channel, kept across connections. */
struct chstat {
	uint64_t sent;		/* DATA frames sent (source) or messages committed (dest) */
	uint64_t acked;		/* messages acked by the far side (source) */
	uint64_t retrans;	/* DATA frames sent again after a reconnect */
	uint64_t dups;		/* retransmissions the kernel dropped (dest) */
	uint64_t max_seq;	/* highest seq ever sent: below it, a send is a retransmission */
	int64_t rtt_us;		/* smoothed DATA -> ACK round trip */
	uint32_t window;
};

/* A message held from the source channel, or received for the destination. */
struct msg {
	struct msg *next;
	uint64_t seq;
	uint64_t hold_id;
	int64_t held_ms;	/* when held (source): the progress timeout's clock */
	int64_t sent_us;	/* 0 until sent in this session */
	uint32_t len;
	uint8_t data[];
};

enum role { ROLE_SRC, ROLE_DST };
enum sstate { S_OPENING, S_RUN, S_DONE, S_FAILED };

/* Control frames a stream owes the far side (stream.owed; sent when there is room). */
#define P_OPEN		0x01
#define P_STREAM	0x02
#define P_RESUME	0x04
#define P_ACK		0x08
#define P_CREDIT	0x10
#define P_CLOSE		0x20
#define P_CLOSE_ACK	0x40
#define P_OPENED	0x80

struct conn;

struct stream {
	struct tag tag;		/* T_CHAN: the channel fd's events */
	struct conn *c;
	uint32_t id;		/* the channel number on the wire */
	enum role role;
	enum sstate state;
	int fd;			/* the local channel */
	int own_fd;		/* closed with the stream (serve); else kept (import) */
	char name[CB_NAME_MAX + 1];
	uint64_t stream;	/* the source's stream: the key of the destination's
				 * at-most-once filter (KCHAN_IOC_SEND_ONCE) */
	uint64_t importer;	/* the importer's identity for this channel (OPEN) */
	uint64_t chan_id;	/* serve: the exported channel's info.id (OPENED) */
	struct export *ex;	/* serve: the export opened */
	uint32_t msg_max, capacity, window;
	uint32_t far_msg_max;	/* the far channel's msg_max (OPENED), 0 if unknown */
	struct chstat *st;
	unsigned int owed;	/* P_*: control frames not sent yet */
	uint32_t watched;	/* events asked of the loop for fd */
	/* source */
	int resumed;
	uint64_t resume;	/* the destination's last committed seq */
	uint64_t credit, sent_frames;
	struct msg *held, *held_tail;	/* held from the channel, in seq order */
	int nheld, unsent;	/* unsent: held, not yet sent in this session */
	int eof;
	int nobufs;		/* HOLD said ENOBUFS: retry after an ack */
	uint64_t last_seq;	/* the last seq held in this session (CLOSE after it) */
	uint64_t max_held;	/* highest seq held in this session, acked at once or kept */
	uint64_t max_sent;	/* highest seq sent in this session */
	/* destination */
	struct msg *to_commit, *to_commit_tail;	/* received, not yet committed */
	int nto_commit;
	uint64_t granted, received, last_rx, committed;
	int close_rcvd;
	uint64_t close_seq;
};

enum cstate { C_CONNECTING, C_TLS, C_HELLO, C_READY, C_DEAD };

struct bridge;
struct tls_ctx;
struct tls_conn;

struct conn {
	struct tag tag;		/* T_CONN */
	struct bridge *b;
	int fd;
	int id;
	enum cstate state;
	char peer[80];
	uint8_t *rbuf;
	size_t rlen, rcap;
	uint8_t *wbuf;
	size_t wlen, wcap;
	uint32_t max_msg;
	int64_t hs_deadline, last_rx, last_ping;
	uint64_t pong_token;
	int need_pong;
	int64_t rtt_us;
	int nheld;		/* messages held by all its source streams */
	size_t held_bytes;	/* and their bytes (CB_HOLD_BUDGET, CB_HOLD_BYTES) */
	struct stream *streams[CB_MAX_CHANS];
	int nstreams;
	unsigned int next_turn;	/* the stream whose DATA goes first in the next round */
	int busy;		/* import: a source is held by another importer: back off */
	uint32_t watched;
	/* serve.c's admission (serve_accept, serve_conn_ready) */
	char src[80];		/* the peer's address without its port, or "uid N" */
	int authed;		/* ready, and counted against --max-conns */
	struct tls_conn *tls;	/* NULL: plain TCP (loopback) */
	uint32_t tls_wants;	/* POLLIN or POLLOUT the TLS layer waits for */
	int tls_started;	/* the first handshake step was taken */
};

struct export {
	char name[CB_NAME_MAX + 1];
	int allow;		/* bitmask of CB_DIR_SEND, CB_DIR_RECV */
	struct stream *holder;	/* the one stream holding from it (importer receives) */
	struct chstat st;
};

/* An imported channel (import side), kept across connections. */
struct impch {
	char remote[CB_NAME_MAX + 1], local[CB_NAME_MAX + 1];
	int dir;		/* CB_DIR_SEND or CB_DIR_RECV */
	int fd;
	uint64_t stream;	/* the local channel's info.id: for CB_DIR_SEND the
				 * stream, for CB_DIR_RECV the importer's identity */
	uint64_t far_id;	/* the remote channel's info.id (OPENED), 0 until known */
	int yield;		/* pre-empted by another importer of ours: OPEN without
				 * the identity (no pre-empting back) until opened */
	int done, failed;
	struct chstat st;
};

struct bridge {
	int server;
	struct evloop *ev;
	enum ev_kind io;
	struct tls_ctx *tls;	/* NULL: plain TCP, loopback only */
	uint32_t max_msg;
	int max_conns;		/* authenticated connections */
	int max_handshakes;	/* unauthenticated ones, in total */
	int max_per_addr;	/* unauthenticated ones from one source */
	int insecure_loopback;	/* serve TCP on loopback without a key (tests) */
	int keepalive_ms, hs_timeout_ms;
	uint32_t window, capacity;
	int capacity_set;
	uint8_t *scratch;	/* one message, for holds */
	/* serve */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct tag ltag;
	int lfd;
	struct export exports[CB_MAX_EXPORTS];
	int nexports;
	struct conn **conns;
	int nconns, conns_cap, next_id;
	int64_t accept_at;	/* the listener is paused until then (accept failed) */
	int accept_backoff_ms;
	/* import */
	char *target;
	struct impch imports[CB_MAX_CHANS];
	int nimports;
	struct conn *conn;
	int64_t reconnect_at;
	int backoff_ms;
	int busy;		/* the last connection ended on CB_ERR_BUSY: keep backing off */
	/* both */
	char status_path[108];
	struct tag stag;
	int status_fd;
	struct tag sigtag;
	int sigfd;
	int stop;
	uint64_t crash_after, commits;	/* CHANBRIDGE_CRASH_AFTER_COMMIT (tests) */
	int rc;			/* exit status once stopped */
};

/* The protocol engine: conn.c and the files conn.h lists */
struct conn *conn_new(struct bridge *b, int fd, const char *peer, enum cstate st);
void conn_event(struct conn *c, uint32_t events);
void stream_event(struct stream *s, uint32_t events);
void conn_timers(struct conn *c, int64_t now);
int64_t conn_next_timer(const struct conn *c);
void conn_kill(struct conn *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void conn_free(struct conn *c);
void conn_start(struct conn *c);	/* import: connected; send HELLO */
void conn_update(struct conn *c);	/* pump the streams, fill and flush output */
/* A stream stops using its channel: a source's holds returned (before any close), what it
 * held or received dropped, a fd it owns closed.  Idempotent. */
void stream_release(struct stream *s);
void src_return(struct stream *s);
void stream_fail(struct stream *s, int err, const char *what, int tell);

/* io.c: the byte stream, TLS or plain (the rest of it is in conn.h) */
struct bridge_tls_opts {
	const char *psk_file, *identity;
	const char *cert, *key, *ca, *server_name;
	int no_tls, no_ktls;
};
struct conn_tls_info {
	const char *mode;	/* "psk", "cert" or "none" */
	const char *version, *cipher;
	int ktls_send, ktls_recv;
	const char *principal;
};
/* 0, or the exit status for a usage (2) or configuration (1) error. */
int bridge_tls_init(struct bridge *b, const struct bridge_tls_opts *o, int loopback,
		    const char *host);
const char *bridge_tls_mode(const struct bridge *b);
void conn_tls_info(const struct conn *c, struct conn_tls_info *info);
/* The authenticated peer: PSK identity or certificate name; "" without TLS. */
const char *conn_principal(const struct conn *c);

/* addr.c */
int addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len);
int addr_is_loopback(const struct sockaddr_storage *ss);
void addr_str(const struct sockaddr *sa, char *buf, size_t len);

/* peercred.c: 0 if a UNIX-socket peer may open /dev/chan/NAME itself, else -EACCES */
int peer_may_open(const struct conn *c, const char *name, int write);

/* status.c */
int status_listen(struct bridge *b);
void status_serve(struct bridge *b);
int cmd_status(int argc, char **argv);

/* serve.c, import.c: hooks the engine calls */
void serve_conn_dead(struct bridge *b, struct conn *c);
void serve_conn_ready(struct bridge *b, struct conn *c);	/* c reached C_READY */
void import_conn_dead(struct bridge *b, struct conn *c);
int serve_open(struct conn *c, const struct cb_frame *f);
void serve_stream_end(struct stream *s);
void import_ready(struct conn *c);
void import_opened(struct conn *c, struct stream *s, const struct cb_frame *f);
void import_stream_end(struct bridge *b, struct stream *s);
void import_busy(struct conn *c, struct stream *s, const char *text);
int cmd_serve(int argc, char **argv);
int cmd_import(int argc, char **argv);
int run_loop(struct bridge *b);

#endif

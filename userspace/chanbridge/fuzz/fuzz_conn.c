// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the protocol engine (issue 13, "Test the protocol,
 * not only the codec"): one serve-side connection, its socket replaced by
 * the input (conn_io_read/conn_io_write are ours, io_rw.c is not linked) and
 * its kernel by the model (model/kch_model.c), exporting one source
 * channel that a producer fills with numbered messages.  The input is a
 * sequence of steps, each a frame from the importer (HELLO, OPEN, RESUME,
 * CREDIT, ACK, CLOSE_ACK, PING, ERROR, or raw bytes), a new message or a
 * close by the producer, an earlier holder (a bridge that came and went:
 * it holds a few messages and crashes, so they come back counted, or gives
 * them back with KCHAN_RETURN_UNSENT), or the connection dropped (the next
 * step starts another session, as a reconnect does).
 *
 * The delivery contract, checked as it goes and at the end:
 *  - every message the bridge acks to the kernel was sent in a DATA frame
 *    before, or came back counted from an earlier holder that may have
 *    sent it (the model says: its returns); else it is lost, nobody has it;
 *  - an honest peer's RESUME is never refused as covering what no one
 *    was sent;
 *  - no seq goes out twice in one session, nor below one that went out
 *    already in it, and every DATA carries the bytes of its seq;
 *  - nothing is lost from the channel: once the connection is gone,
 *    queued + held + acked == produced;
 *  - no crash, no leak (ASan, UBSan, LeakSanitizer).
 *
 * Byte 0 of the input chooses the peer: bit 0 set, a hostile one whose
 * RESUME and ACK name any seq; clear, an honest one whose RESUME and ACK
 * name only seqs it was sent.  FUZZ_CONN_HONEST=1 in the environment
 * keeps every peer honest.
 *
 * Issue 13 ("acks that never cover a seq that was not sent"): a hostile
 * RESUME above what was ever sent made src_pump() ack held messages that
 * never went out; fuzz/conn-corpus/hostile-resume-acks-unsent is that
 * input, kept since the fix (src_resume_lie()).  fuzz/conn-crashes/ is
 * for the next one.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cli.h"
#include "conn.h"
#include "kch.h"
#include "log.h"
#include "model/kch_model.h"

#define SRC		"src"
#define CHAN		1	/* the channel number the importer uses */
#define MAX_SEQ		4096	/* messages produced per input, at most */
#define MSG_LEN		16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	const uint8_t *in;		/* the input, and how far the steps got */
	size_t size, off;
	uint8_t wire[8192];		/* bytes for the connection to read */
	size_t wire_len, wire_off;
	uint8_t out[1 << 17];		/* what it wrote, not yet decoded */
	size_t out_len;
	int hostile;
	uint64_t produced, acked;
	uint8_t sent_ever[MAX_SEQ + 1];	/* seq went out in a DATA frame */
	uint8_t sent_now[MAX_SEQ + 1];	/* ... in this session */
	uint64_t max_sent;		/* highest seq sent, any session */
	uint64_t last_sent;		/* the last seq sent in this session */
	int trace;			/* FUZZ_CONN_TRACE: say what goes out */
	uint64_t credit;		/* the CREDIT total granted this session */
	int producer;			/* the producer's file */
	int lie_refused;		/* the bridge said a RESUME covered no one's seq */
} h;

/* ----- what the engine links against instead of io.c and log.c ---------- */

void logmsg(const char *fmt, ...)
{
	(void)fmt;	/* quiet: a fuzzer runs millions of connections */
}

void logmsg_rl(const char *key, const char *fmt, ...)
{
	(void)key;
	(void)fmt;
}

void log_rl_flush(void)
{
}

int64_t now_us(void)
{
	static int64_t t = 1000000;

	return t += 10;		/* monotonic, and the same for every run */
}

int64_t now_ms(void)
{
	return now_us() / 1000;
}

ssize_t conn_io_read(struct conn *c, void *buf, size_t len)
{
	size_t n = h.wire_len - h.wire_off;

	(void)c;
	if (!n) {
		errno = EAGAIN;
		return -1;
	}
	if (n > len)
		n = len;
	memcpy(buf, h.wire + h.wire_off, n);
	h.wire_off += n;
	return (ssize_t)n;
}

static void check_data(const struct cb_frame *f)
{
	char want[MSG_LEN];

	if (f->chan != CHAN || f->seq == 0 || f->seq > h.produced)
		abort();	/* a seq the producer never wrote */
	if (h.trace)
		fprintf(stderr, "fuzz_conn: DATA seq %llu\n", (unsigned long long)f->seq);
	if (h.sent_now[f->seq] || f->seq < h.last_sent)
		abort();	/* twice, or below one already sent, in one session */
	h.last_sent = f->seq;
	snprintf(want, sizeof(want), "msg %llu", (unsigned long long)f->seq);
	if (f->len != strlen(want) || memcmp(f->data, want, f->len))
		abort();	/* the bytes of another message */
	h.sent_now[f->seq] = h.sent_ever[f->seq] = 1;
	if (f->seq > h.max_sent)
		h.max_sent = f->seq;
}

/* The importer's end: decode what the bridge sent, check each DATA. */
ssize_t conn_io_write(struct conn *c, const void *buf, size_t len)
{
	size_t off = 0;

	(void)c;
	if (len > sizeof(h.out) - h.out_len)
		len = sizeof(h.out) - h.out_len;	/* a full socket buffer */
	memcpy(h.out + h.out_len, buf, len);
	h.out_len += len;
	for (;;) {
		struct cb_frame f;
		int rc = cb_decode(h.out + off, h.out_len - off, CB_MSG_HARD_MAX, &f);

		if (rc < 0)
			abort();	/* the bridge wrote a frame it cannot decode */
		if (rc == 0)
			break;
		if (f.type == CB_DATA)
			check_data(&f);
		if (f.type == CB_ERROR && f.len && memmem(f.data, f.len, "no one was ever sent",
							  strlen("no one was ever sent"))) {
			if (!h.hostile)
				abort();	/* an honest RESUME refused */
			h.lie_refused++;
		}
		off += (size_t)rc;
	}
	memmove(h.out, h.out + off, h.out_len - off);
	h.out_len -= off;
	return (ssize_t)len;
}

/*
 * The model tells us each message an ACK frees: sent by the bridge, or
 * back from a holder before it that may have sent it (returns > 0).
 */
static void on_ack(void *arg, const char *name, uint64_t seq, uint32_t returns)
{
	(void)arg;
	if (strcmp(name, SRC))
		return;
	if (seq > MAX_SEQ || (!h.sent_ever[seq] && !returns))
		abort();	/* acked, never sent by anyone: lost */
	h.acked++;
}

/* ----- the steps --------------------------------------------------------- */

static unsigned int next(void)
{
	return h.off < h.size ? h.in[h.off++] : 0;
}

static uint64_t next_u64(void)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | next();
	return v;
}

static void wire_frame(const struct cb_frame *f)
{
	h.wire_len += cb_encode(h.wire + h.wire_len, sizeof(h.wire) - h.wire_len, f);
}

/* A seq for RESUME or ACK: one that was sent (honest), or any (hostile). */
static uint64_t pick_seq(void)
{
	unsigned int b = next();

	if (h.hostile && b % 4 == 3)
		return b & 4 ? next_u64() : h.produced + b / 8;
	if (!h.max_sent)
		return 0;
	if (b % 4 == 0)
		return h.max_sent;
	return 1 + (uint64_t)next() % h.max_sent;
}

/*
 * A holder before (or beside) the bridge: another file holds up to @n
 * messages, then crashes (its release returns them counted: it may have
 * sent them) or gives them back with KCHAN_RETURN_UNSENT.
 */
static void earlier_holder(unsigned int n, int crash)
{
	int fd = kchm_open(SRC, 0);
	uint8_t buf[MSG_LEN];
	uint64_t id, seq;
	uint32_t deliveries;

	if (fd < 0)
		abort();
	while (n-- && kchm_hold(fd, buf, sizeof(buf), &id, &seq, &deliveries) > 0)
		;
	if (!crash)
		kchm_return_unsent(fd, 0);
	kchm_release(fd);
}

static void produce(void)
{
	char msg[MSG_LEN];
	int n;

	if (h.produced >= MAX_SEQ)
		return;
	n = snprintf(msg, sizeof(msg), "msg %llu", (unsigned long long)h.produced + 1);
	if (kchm_write(h.producer, msg, (size_t)n) == n)
		h.produced++;
}

/* One step of the input; 1 if the connection is to be dropped. */
static int step(void)
{
	unsigned int op = next();
	struct cb_frame f = { .chan = CHAN };

	switch (op % 13) {
	case 0:
		f = (struct cb_frame){ .type = CB_HELLO, .magic = CB_MAGIC,
				       .version = CB_VERSION, .u32 = 64 + next() * 16 };
		break;
	case 1:
		f.type = CB_OPEN;
		f.dir = next() % 8 ? CB_DIR_RECV : CB_DIR_SEND;
		f.u32 = next() % 20;
		snprintf(f.name, sizeof(f.name), "%s", next() % 16 ? SRC : "nope");
		break;
	case 2:
		f.type = CB_RESUME;
		f.seq = pick_seq();
		break;
	case 3:
		f.type = CB_CREDIT;
		h.credit += next() % 9;
		f.seq = h.credit;
		break;
	case 4:
		f.type = CB_ACK;
		f.seq = pick_seq();
		break;
	case 5:
		f.type = CB_CLOSE_ACK;
		f.seq = h.max_sent;
		break;
	case 6:
		f.type = CB_PING;
		f.seq = next();
		break;
	case 7:
		f.type = CB_ERROR;
		f.chan = next() % 2 ? CHAN : 0;
		f.u32 = next() % 4 ? EIO : CB_ERR_PROTO;
		f.data = (const uint8_t *)"fuzz";
		f.len = 4;
		break;
	case 8: {	/* raw bytes: whatever the input says */
		size_t n = next() % 32;

		while (n-- && h.wire_len < sizeof(h.wire))
			h.wire[h.wire_len++] = (uint8_t)next();
		return 0;
	}
	case 9:
	case 10:
		for (unsigned int n = 1 + next() % 4; n; n--)
			produce();
		return 0;
	case 11: {
		unsigned int b = next();

		if (b % 4 == 0)
			kchm_close(h.producer);
		else if (b % 4 == 1)
			earlier_holder(1 + b / 4 % 8, b & 0x80);
		return 0;
	}
	default:
		return next() % 4 == 0;
	}
	if (h.wire_len + cb_size(&f) <= sizeof(h.wire))
		wire_frame(&f);
	return 0;
}

/* ----- sessions ------------------------------------------------------------ */

static struct conn *session_new(struct bridge *b)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);	/* only to be watched */
	struct conn *c = fd < 0 ? NULL : conn_new(b, fd, "fuzz", C_HELLO);

	if (!c)
		abort();
	memset(h.sent_now, 0, sizeof(h.sent_now));
	h.last_sent = 0;
	if (h.trace)
		fprintf(stderr, "fuzz_conn: new session\n");
	h.wire_len = h.wire_off = h.out_len = 0;
	h.credit = 0;
	return c;
}

static void session_end(struct conn *c)
{
	if (c->state != C_DEAD)
		conn_kill(c, 0, "fuzz: connection dropped");
	conn_free(c);	/* close() of the stream's file: the model returns its holds */
}

/* A serve's defaults (bridge_new), one connection, one export. */
static void setup(struct bridge *b)
{
	struct bridge *d = bridge_new(1);

	if (!d)
		abort();
	*b = *d;
	free(d);
	b->max_conns = 1;
	b->scratch = malloc(CB_MSG_HARD_MAX);
	b->ev = ev_new(EV_EPOLL);
	if (!b->scratch || !b->ev)
		abort();
	snprintf(b->exports[0].name, sizeof(b->exports[0].name), SRC);
	b->exports[0].allow = CB_DIR_RECV;
	b->nexports = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct bridge b;	/* static: the engine keeps pointers into it */
	struct kchan_info info;
	struct conn *c;

	memset(&h, 0, sizeof(h));
	h.in = data;
	h.size = size;
	h.hostile = (next() & 1) && !getenv("FUZZ_CONN_HONEST");
	h.trace = !!getenv("FUZZ_CONN_TRACE");
	if (kch_create(SRC, 1 + next() % 8, 64) != 0)
		abort();
	h.producer = kchm_open(SRC, 1);
	kchm_on_ack(on_ack, NULL);
	setup(&b);
	c = session_new(&b);
	while (h.off < h.size) {
		int drop = step();

		/* What arrived, a few reads' worth (a READY conn reads once per event). */
		for (int i = 0; i < 8 && h.wire_off < h.wire_len && c->state != C_DEAD; i++)
			conn_event(c, POLLIN);
		conn_update(c);
		if (drop || c->state == C_DEAD) {
			session_end(c);
			c = session_new(&b);
		}
	}
	session_end(c);

	/* Nothing lost: what is not acked is back in the channel. */
	if (kchm_info_name(SRC, &info) || info.held ||
	    info.length + h.acked != h.produced)
		abort();
	if (h.trace)
		fprintf(stderr, "fuzz_conn: produced %llu, acked %llu, queued %u, lies refused %d\n",
			(unsigned long long)h.produced, (unsigned long long)h.acked, info.length,
			h.lie_refused);
	kchm_on_ack(NULL, NULL);
	kchm_release(h.producer);
	kchm_reset();
	ev_free(b.ev);
	free(b.scratch);
	return 0;
}

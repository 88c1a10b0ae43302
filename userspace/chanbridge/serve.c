// SPDX-License-Identifier: GPL-2.0
/* chanbridge serve: accept importers and open the exported channels they ask for. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge.h"
#include "cli.h"
#include "kch.h"
#include "conn.h"
#include "log.h"

static struct export *export_find(struct bridge *b, const char *name)
{
	for (int i = 0; i < b->nexports; i++)
		if (!strcmp(b->exports[i].name, name))
			return &b->exports[i];
	return NULL;
}

/* The export's holder, if it is still holding (its connection may be dying). */
static struct stream *holder_live(struct export *e)
{
	struct stream *h = e->holder;

	if (h && (h->c->state == C_DEAD || h->state == S_FAILED || h->state == S_DONE))
		return NULL;
	return h;
}

/*
 * One holder per exported source.  Two files holding from one channel get
 * each other's returned messages below seqs already sent, which the far
 * side's at-most-once filter drops as duplicates and acks: lost.  So a
 * second importer is refused (CB_ERR_BUSY, which it retries), unless it is
 * the same importer again (same principal and identity): a reconnect after
 * a half-dead link, whose stale stream is pre-empted, its holds returned
 * and its fd closed before the new stream holds anything.
 * Returns NULL if the importer may hold, else the text of the refusal.
 */
static const char *holder_claim(struct export *e, struct conn *c, uint64_t importer)
{
	struct stream *h = holder_live(e);

	if (!h)
		return NULL;
	if (!importer || h->importer != importer ||
	    strcmp(conn_principal(h->c), conn_principal(c)))
		return "held by another importer";
	logmsg("conn %d %s: channel %s: pre-empted by conn %d %s, the same importer "
	       "(%016llx) again", h->c->id, h->c->peer, h->name, c->id, c->peer,
	       (unsigned long long)importer);
	stream_fail(h, CB_ERR_BUSY, "pre-empted by a newer connection of this importer", 1);
	conn_update(h->c);
	return NULL;
}

void serve_stream_end(struct stream *s)
{
	if (s->ex && s->ex->holder == s)
		s->ex->holder = NULL;
}

/*
 * Why the OPEN of export e is refused, or NULL.  For a source the last
 * check claims it, pre-empting a stale stream of the same importer.
 */
static const char *open_refused(struct conn *c, const struct cb_frame *f, struct export *e,
				uint32_t *code)
{
	int src = f->dir == CB_DIR_RECV;

	if (!e) {
		*code = CB_ERR_NOEXPORT;
		return "is not exported";
	}
	if (!(e->allow & f->dir)) {
		*code = CB_ERR_DIR;
		return src ? "may not be received from by importers" :
			     "may not be sent into by importers";
	}
	/* Once per direction: a peer may not open one export many times over. */
	for (int i = 0; i < c->nstreams; i++)
		if (c->streams[i]->ex == e && (c->streams[i]->role == ROLE_SRC) == src &&
		    c->streams[i]->state != S_FAILED && c->streams[i]->state != S_DONE) {
			*code = CB_ERR_LIMIT;
			return "already open in this direction on this connection";
		}
	*code = CB_ERR_BUSY;
	return src ? holder_claim(e, c, f->stream) : NULL;
}

/* The stream of an OPEN admitted, on the channel's fd (owned from now on). */
static struct stream *stream_new(struct conn *c, const struct cb_frame *f, struct export *e,
				 int fd, const struct kchan_info *info)
{
	struct stream *s = calloc(1, sizeof(*s));
	int src = f->dir == CB_DIR_RECV;	/* the importer's direction; ours is the other */

	if (!s)
		return NULL;
	s->tag.kind = T_CHAN;
	s->c = c;
	s->id = f->chan;
	s->role = src ? ROLE_SRC : ROLE_DST;
	s->fd = fd;
	s->own_fd = 1;
	snprintf(s->name, sizeof(s->name), "%s", f->name);
	s->msg_max = info->msg_max;
	s->capacity = info->capacity;
	s->chan_id = info->id;
	s->importer = f->stream;
	s->ex = e;
	s->window = f->u32 == 0 ? 1 : f->u32 > CB_WINDOW_MAX ? CB_WINDOW_MAX : f->u32;
	s->st = &e->st;
	s->st->window = s->window;
	s->owed = P_OPENED;
	if (src) {
		s->stream = info->id;
		s->state = S_RUN;	/* data moves after RESUME */
		e->holder = s;
	} else {
		s->state = S_OPENING;	/* until the importer names its stream */
	}
	return s;
}

int serve_open(struct conn *c, const struct cb_frame *f)
{
	struct export *e = export_find(c->b, f->name);
	int src = f->dir == CB_DIR_RECV;
	struct kchan_info info;
	char text[CB_TEXT_MAX];
	struct stream *s;
	const char *why;
	uint32_t code;
	int fd, rc;

	why = open_refused(c, f, e, &code);
	if (why) {
		snprintf(text, sizeof(text), "%s %s", f->name, why);
		goto refuse;
	}
	fd = kch_open(f->name, !src);
	if (fd < 0) {
		code = (uint32_t)-fd;
		snprintf(text, sizeof(text), "open /dev/chan/%s: %s", f->name, strerror(-fd));
		goto refuse;
	}
	rc = kch_info(fd, &info);
	if (rc < 0 || info.msg_max > c->max_msg) {
		code = rc < 0 ? (uint32_t)-rc : EMSGSIZE;
		snprintf(text, sizeof(text), "%s: %s", f->name,
			 rc < 0 ? strerror(-rc) : "msg_max above the connection's maximum (--max-msg)");
		close(fd);	/* nothing held yet */
		goto refuse;
	}
	s = stream_new(c, f, e, fd, &info);
	if (!s) {
		close(fd);
		code = ENOMEM;
		snprintf(text, sizeof(text), "out of memory");
		goto refuse;
	}
	c->streams[c->nstreams++] = s;
	logmsg("conn %d %s: channel %s opened: importer %016llx %s (window %u)", c->id,
	       c->peer, s->name, (unsigned long long)s->importer, src ? "receives" : "sends",
	       s->window);
	return 0;
refuse:
	logmsg("conn %d %s: refusing channel %s: %s", c->id, c->peer, f->name, text);
	out_error(c, f->chan, (int)code, text);
	return -1;
}

/* An OPENED stream of ours waits in S_OPENING for STREAM (destination). */

void serve_conn_dead(struct bridge *b, struct conn *c)
{
	(void)b;
	logmsg("conn %d %s: closed", c->id, c->peer);
}

static void serve_accept(struct bridge *b)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char peer[80];
	int fd = accept4(b->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct conn *c;
	int one = 1;

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			logmsg("accept: %s", strerror(errno));
		return;
	}
	addr_str((struct sockaddr *)&ss, peer, sizeof(peer));
	if (b->nconns >= b->max_conns) {
		static const char msg[] = "connection limit reached";
		uint8_t buf[64];
		struct cb_frame f = { .type = CB_ERROR, .u32 = CB_ERR_LIMIT,
				      .data = (const uint8_t *)msg, .len = sizeof(msg) - 1 };
		size_t n = cb_encode(buf, sizeof(buf), &f);

		logmsg("refusing connection from %s: %d connections (--max-conns)", peer,
		       b->nconns);
		if (write(fd, buf, n) < 0)
			n = 0;
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = conn_new(b, fd, peer, C_HELLO);
	if (!c) {
		logmsg("refusing connection from %s: out of memory", peer);
		close(fd);
		return;
	}
	b->conns[b->nconns++] = c;
	logmsg("conn %d %s: accepted (%d of at most %d)", c->id, peer, b->nconns, b->max_conns);
	conn_update(c);
}

static void usage_serve(FILE *f)
{
	fputs(USAGE_SERVE, f);
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "psk-file", required_argument, NULL, 'k' },
		{ "export", required_argument, NULL, 'e' },
		{ "status-socket", required_argument, NULL, 's' },
		{ "io", required_argument, NULL, 'i' },
		{ "max-conns", required_argument, NULL, 'c' },
		{ "max-msg", required_argument, NULL, 'm' },
		{ "keepalive", required_argument, NULL, 'K' },
		{ "handshake-timeout", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct bridge *b = bridge_new(1);
	const char *listen_at = "127.0.0.1:7070", *psk = NULL;
	int o, one = 1;

	if (!b)
		return 1;
	snprintf(b->status_path, sizeof(b->status_path), "/run/chanbridge.sock");
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'l': listen_at = optarg; break;
		case 'k': psk = optarg; break;
		case 'e': {
			char *colon = strchr(optarg, ':');
			struct export *e;
			size_t nl = colon ? (size_t)(colon - optarg) : strlen(optarg);

			if (b->nexports >= CB_MAX_EXPORTS)
				return usage_err("serve", "at most %d exports", CB_MAX_EXPORTS);
			if (!cb_name_ok(optarg, nl))
				return usage_err("serve", "bad channel name in --export %s", optarg);
			e = &b->exports[b->nexports++];
			memcpy(e->name, optarg, nl);
			e->name[nl] = 0;
			if (!colon)
				e->allow = CB_DIR_SEND | CB_DIR_RECV;
			else if (!strcmp(colon, ":send"))
				e->allow = CB_DIR_SEND;
			else if (!strcmp(colon, ":recv"))
				e->allow = CB_DIR_RECV;
			else
				return usage_err("serve", "--export %s: want NAME, NAME:send or NAME:recv",
						 optarg);
			if (export_find(b, e->name) != e)
				return usage_err("serve", "%s exported twice", e->name);
			break;
		}
		case 's':
			if (strlen(optarg) >= sizeof(b->status_path))
				return usage_err("serve", "--status-socket path too long");
			snprintf(b->status_path, sizeof(b->status_path), "%s", optarg);
			break;
		case 'i':
			if (parse_io(optarg, &b->io))
				return usage_err("serve", "--io wants uring or epoll");
			break;
		case 'c':
			if (parse_num(optarg, 1, 65536, &b->max_conns))
				return usage_err("serve", "--max-conns wants 1..65536");
			break;
		case 'm': {
			int v;

			if (parse_num(optarg, 1, CB_MSG_HARD_MAX, &v))
				return usage_err("serve", "--max-msg wants 1..%u", CB_MSG_HARD_MAX);
			b->max_msg = (uint32_t)v;
			break;
		}
		case 'K':
			if (parse_num(optarg, 1, 3600, &b->keepalive_ms))
				return usage_err("serve", "--keepalive wants 1..3600 seconds");
			b->keepalive_ms *= 1000;
			break;
		case 'H':
			if (parse_num(optarg, 1, 3600, &b->hs_timeout_ms))
				return usage_err("serve", "--handshake-timeout wants 1..3600 seconds");
			b->hs_timeout_ms *= 1000;
			break;
		case 'h': usage_serve(stdout); return 0;
		default: usage_serve(stderr); return 2;
		}
	}
	if (optind != argc)
		return usage_err("serve", "unexpected argument %s", argv[optind]);
	if (!b->nexports)
		return usage_err("serve", "nothing to serve: give --export NAME");
	if (addr_parse(listen_at, &b->addr, &b->addrlen))
		return usage_err("serve", "--listen %s: want ADDR:PORT", listen_at);
	if (!addr_is_loopback(&b->addr) && !psk) {
		logmsg("refusing to listen on %s without --psk-file: anyone could connect",
		       listen_at);
		return 2;
	}
	if (psk && psk_load(b, psk))
		return 1;
	b->conns = calloc((size_t)b->max_conns, sizeof(*b->conns));
	b->lfd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!b->conns || b->lfd < 0) {
		logmsg("socket: %s", strerror(errno));
		return 1;
	}
	setsockopt(b->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(b->lfd, (struct sockaddr *)&b->addr, b->addrlen) < 0 ||
	    listen(b->lfd, 64) < 0) {
		logmsg("listen on %s: %s", listen_at, strerror(errno));
		return 1;
	}
	b->ltag.kind = T_LISTEN;
	if (bridge_setup(b))
		return 1;
	ev_watch(b->ev, b->lfd, POLLIN, &b->ltag);
	{
		char at[80];

		addr_str((struct sockaddr *)&b->addr, at, sizeof(at));
		logmsg("serving %d channel%s on %s (%s, %s, at most %d connections, "
		       "messages up to %u bytes)", b->nexports, b->nexports == 1 ? "" : "s", at,
		       b->psk_len ? "PSK required" : "no PSK", ev_name(b->ev), b->max_conns,
		       b->max_msg);
	}
	return run_loop(b);
}

void serve_events(struct bridge *b)
{
	serve_accept(b);
}

/* Reap dead connections. */
void serve_reap(struct bridge *b)
{
	for (int i = 0; i < b->nconns; i++) {
		struct conn *c = b->conns[i];

		if (c->state != C_DEAD)
			continue;
		serve_conn_dead(b, c);
		conn_free(c);
		b->conns[i--] = b->conns[--b->nconns];
	}
}

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
#include <sys/stat.h>
#include <sys/un.h>
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

#ifdef CB_MUTANT_NO_BUSY
	/* Only in tests/scenario_test's mutant build: the check off, to show the
	 * scenarios see what it prevents. */
	h = NULL;
#endif
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
	int src = f->dir == CB_DIR_RECV, rc;

	if (!e) {
		*code = CB_ERR_NOEXPORT;
		return "is not exported";
	}
	if (!(e->allow & f->dir)) {
		*code = CB_ERR_DIR;
		return src ? "may not be received from by importers" :
			     "may not be sent into by importers";
	}
	/* A local peer's own rights on the node (UNIX sockets; TCP passes). */
	rc = peer_may_open(c, f->name, !src);
	if (rc < 0) {
		*code = (uint32_t)-rc;
		return "may not be opened: Permission denied (the peer's own rights)";
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
	if (c->authed)
		logmsg("conn %d %s: closed", c->id, c->peer);
	else
		logmsg_rl("closed", "conn %d %s: closed before its handshake", c->id, c->peer);
}

/*
 * Admission.  A connection is unauthenticated until its handshake is done
 * (C_READY); until then it costs us a buffer and an fd and has proved
 * nothing, so it counts against --max-handshakes in total and
 * --max-per-addr per source, never against --max-conns, which only
 * authenticated connections fill.  The lines a peer can make us write are
 * rate-limited (logmsg_rl).
 */
static int unauthed(const struct conn *c)
{
	return c->state != C_DEAD && !c->authed;
}

/* Tell the peer why it goes, best effort (as conn_kill does): what the socket takes now. */
static void send_limit(int fd, const char *why)
{
	uint8_t buf[CB_HDR + 16 + CB_TEXT_MAX];
	struct cb_frame f = { .type = CB_ERROR, .u32 = CB_ERR_LIMIT,
			      .data = (const uint8_t *)why, .len = (uint32_t)strlen(why) };
	size_t n = cb_encode(buf, sizeof(buf), &f);

	if (n && write(fd, buf, n) < 0)
		n = 0;
}

/* Close c before its handshake, telling it why; logged at a bounded rate. */
static void serve_drop(struct conn *c, const char *why)
{
	logmsg_rl("dropped", "conn %d %s: dropped: %s", c->id, c->peer, why);
	send_limit(c->fd, why);
	c->state = C_DEAD;	/* closed when reaped, after this turn's events */
}

/* Refuse an accepted socket that never became a connection. */
static void refuse_fd(int fd, const char *peer, const char *why)
{
	logmsg_rl("refused", "refusing connection from %s: %s", peer, why);
	send_limit(fd, why);
	close(fd);
}

static int count_ready(const struct bridge *b)
{
	int n = 0;

	for (int i = 0; i < b->nconns; i++)
		n += b->conns[i]->state != C_DEAD && b->conns[i]->authed;
	return n;
}

static int count_src(const struct bridge *b, const char *src)
{
	int n = 0;

	for (int i = 0; i < b->nconns; i++)
		n += unauthed(b->conns[i]) && !strcmp(b->conns[i]->src, src);
	return n;
}

/*
 * The unauthenticated connection to drop for a new one: one that has not
 * even sent its HELLO before one that has (a good peer sends it at once),
 * then one of the source with the most of them, so that a flood from a few
 * addresses pays for itself before anyone else does, then the oldest.
 */
static int drop_before(const struct conn *c, int n, const struct conn *v, int vn)
{
	int hello = c->state == C_HELLO, vhello = v->state == C_HELLO;

	if (hello != vhello)
		return hello;
	if (n != vn)
		return n > vn;
	return c->id < v->id;
}

static struct conn *drop_victim(struct bridge *b)
{
	struct conn *v = NULL;
	int vn = 0;

	for (int i = 0; i < b->nconns; i++) {
		struct conn *c = b->conns[i];
		int n;

		if (!unauthed(c))
			continue;
		n = count_src(b, c->src);
		if (!v || drop_before(c, n, v, vn)) {
			v = c;
			vn = n;
		}
	}
	return v;
}

/* Room for the new connection from src: 0, or -1 when it is refused (logged). */
static int admit(struct bridge *b, int fd, const char *peer, const char *src)
{
	char why[CB_TEXT_MAX];
	int n = count_ready(b), u = 0;
	struct conn *v;

	if (n >= b->max_conns) {
		snprintf(why, sizeof(why), "%d connections (--max-conns)", n);
		refuse_fd(fd, peer, why);
		return -1;
	}
	n = count_src(b, src);
	if (n >= b->max_per_addr) {
		snprintf(why, sizeof(why),
			 "%d unauthenticated connections from %s (--max-per-addr)", n, src);
		refuse_fd(fd, peer, why);
		return -1;
	}
	for (int i = 0; i < b->nconns; i++)
		u += unauthed(b->conns[i]);
	v = u >= b->max_handshakes ? drop_victim(b) : NULL;
	if (v) {
		snprintf(why, sizeof(why), "%d connections in their handshake (--max-handshakes)",
			 u);
		serve_drop(v, why);
	}
	/* Dead ones are reaped after the events of this turn: grow past them. */
	if (b->nconns == b->conns_cap) {
		int cap = b->conns_cap ? 2 * b->conns_cap : 64;
		struct conn **nc = realloc(b->conns, sizeof(*nc) * (size_t)cap);

		if (!nc) {
			refuse_fd(fd, peer, "out of memory");
			return -1;
		}
		b->conns = nc;
		b->conns_cap = cap;
	}
	return 0;
}

/*
 * The engine calls this when c's handshake is done (in either role: an
 * importer's connection is ignored): from now on c counts against
 * --max-conns, and is closed if that is full.  serve_tick() calls it too for
 * connections that became ready unnoticed, so a missed call only delays the
 * check to the end of the loop turn.
 */
void serve_conn_ready(struct bridge *b, struct conn *c)
{
	int n;

	if (!b->server || c->authed || c->state != C_READY)
		return;
	n = count_ready(b);
	c->authed = 1;
	if (n >= b->max_conns)
		conn_kill(c, CB_ERR_LIMIT, "%d authenticated connections (--max-conns)", n);
}

/*
 * accept4() failing for want of fds or memory leaves the listener readable:
 * stop watching it for a while (100 ms, doubling to 1 s) rather than spin,
 * and let serve_tick() resume it.
 */
#define ACCEPT_BACKOFF_MIN_MS	100
#define ACCEPT_BACKOFF_MAX_MS	1000

static void accept_pause(struct bridge *b, int err)
{
	b->accept_backoff_ms = b->accept_backoff_ms ? 2 * b->accept_backoff_ms
						    : ACCEPT_BACKOFF_MIN_MS;
	if (b->accept_backoff_ms > ACCEPT_BACKOFF_MAX_MS)
		b->accept_backoff_ms = ACCEPT_BACKOFF_MAX_MS;
	b->accept_at = now_ms() + b->accept_backoff_ms;
	ev_watch(b->ev, b->lfd, 0, &b->ltag);
	logmsg_rl("accept", "accept: %s: not accepting for %d ms", strerror(err),
		  b->accept_backoff_ms);
}

/* Who the peer is, for the log and the per-source count. */
static void peer_name(int fd, const struct sockaddr_storage *ss, char *peer, size_t plen,
		      char *src, size_t slen)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char *colon;

	if (ss->ss_family == AF_UNIX) {
		/* Local peers are told apart by their uid, not by an address. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
			cr.uid = (uid_t)-1;
			cr.pid = 0;
		}
		snprintf(peer, plen, "uid %u pid %d", (unsigned int)cr.uid, (int)cr.pid);
		snprintf(src, slen, "uid %u", (unsigned int)cr.uid);
		return;
	}
	addr_str((const struct sockaddr *)ss, peer, plen);
	snprintf(src, slen, "%s", peer);
	colon = strrchr(src, ':');
	if (colon)
		*colon = 0;	/* the address without its port */
}

static void serve_accept(struct bridge *b)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char peer[80], src[sizeof(((struct conn *)0)->src)];
	int fd = accept4(b->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct conn *c;
	int one = 1;

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			accept_pause(b, errno);
		else if (errno != EAGAIN && errno != EINTR)
			logmsg_rl("accept", "accept: %s", strerror(errno));
		return;
	}
	b->accept_backoff_ms = 0;
	peer_name(fd, &ss, peer, sizeof(peer), src, sizeof(src));
	if (admit(b, fd, peer, src))
		return;
	if (ss.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = conn_new(b, fd, peer, b->tls ? C_TLS : C_HELLO);
	if (!c) {
		logmsg_rl("refused", "refusing connection from %s: out of memory", peer);
		close(fd);
		return;
	}
	snprintf(c->src, sizeof(c->src), "%s", src);
	b->conns[b->nconns++] = c;
	logmsg_rl("accepted", "conn %d %s: accepted (%d connections)", c->id, peer, b->nconns);
	conn_update(c);
}

/*
 * A UNIX socket is made connectable by everyone: who may do what is decided
 * per OPEN from the peer's credentials (peer_may_open()), as open(2) would.
 * A stale socket of an earlier run is replaced; any other file is not.
 */
static int listen_unix(struct bridge *b)
{
	const char *path = ((struct sockaddr_un *)&b->addr)->sun_path;
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if (bind(b->lfd, (struct sockaddr *)&b->addr, b->addrlen) < 0)
		return -1;
	return chmod(path, 0666);
}

static int serve_listen(struct bridge *b, const char *listen_at)
{
	int one = 1, rc;

	b->lfd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (b->lfd < 0) {
		logmsg("socket: %s", strerror(errno));
		return -1;
	}
	if (b->addr.ss_family == AF_UNIX) {
		rc = listen_unix(b);
	} else {
		setsockopt(b->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		rc = bind(b->lfd, (struct sockaddr *)&b->addr, b->addrlen);
	}
	if (rc < 0 || listen(b->lfd, 64) < 0) {
		logmsg("listen on %s: %s", listen_at, strerror(errno));
		return -1;
	}
	return 0;
}

/* --export NAME[:send|:recv]: 0, or 2 after saying why (usage_err). */
int serve_add_export(struct bridge *b, const char *spec)
{
	const char *colon = strchr(spec, ':');
	size_t nl = colon ? (size_t)(colon - spec) : strlen(spec);
	struct export *e;

	if (b->nexports >= CB_MAX_EXPORTS)
		return usage_err("serve", "at most %d exports", CB_MAX_EXPORTS);
	if (!cb_name_ok(spec, nl))
		return usage_err("serve", "bad channel name in --export %s", spec);
	e = &b->exports[b->nexports++];
	memcpy(e->name, spec, nl);
	e->name[nl] = 0;
	if (!colon)
		e->allow = CB_DIR_SEND | CB_DIR_RECV;
	else if (!strcmp(colon, ":send"))
		e->allow = CB_DIR_SEND;
	else if (!strcmp(colon, ":recv"))
		e->allow = CB_DIR_RECV;
	else
		return usage_err("serve", "--export %s: want NAME, NAME:send or NAME:recv", spec);
	if (export_find(b, e->name) != e)
		return usage_err("serve", "%s exported twice", e->name);
	return 0;
}

/* Listen, and watch the listener (the loop is set up). */
int serve_start(struct bridge *b, const char *listen_at)
{
	if (serve_listen(b, listen_at))
		return -1;
	/* The port bound, when asked for port 0. */
	if (b->addr.ss_family != AF_UNIX) {
		b->addrlen = sizeof(b->addr);
		getsockname(b->lfd, (struct sockaddr *)&b->addr, &b->addrlen);
	}
	b->ltag.kind = T_LISTEN;
	ev_watch(b->ev, b->lfd, POLLIN, &b->ltag);
	return 0;
}

static void usage_serve(FILE *f)
{
	fputs(USAGE_SERVE, f);
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		TLS_LONGOPTS,
		{ "export", required_argument, NULL, 'e' },
		{ "status-socket", required_argument, NULL, 's' },
		{ "io", required_argument, NULL, 'i' },
		{ "max-conns", required_argument, NULL, 'c' },
		{ "max-msg", required_argument, NULL, 'm' },
		{ "keepalive", required_argument, NULL, 'K' },
		{ "handshake-timeout", required_argument, NULL, 'H' },
		{ "max-handshakes", required_argument, NULL, 'U' },
		{ "max-per-addr", required_argument, NULL, 'A' },
		{ "insecure-loopback", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct bridge *b = bridge_new(1);
	const char *listen_at = "127.0.0.1:7070";
	struct bridge_tls_opts tls = { 0 };
	int o, rc;

	if (!b)
		return 1;
	snprintf(b->status_path, sizeof(b->status_path), "/run/chanbridge.sock");
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (bridge_tls_getopt(o, optarg, &tls))
			continue;
		switch (o) {
		case 'l': listen_at = optarg; break;
		case 'e':
			if (serve_add_export(b, optarg))
				return 2;
			break;
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
		case 'U':
			if (parse_num(optarg, 1, 65536, &b->max_handshakes))
				return usage_err("serve", "--max-handshakes wants 1..65536");
			break;
		case 'A':
			if (parse_num(optarg, 1, 65536, &b->max_per_addr))
				return usage_err("serve", "--max-per-addr wants 1..65536");
			break;
		case 'L':
			b->insecure_loopback = 1;
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
	if (tls.identity)
		return usage_err("serve", "--identity is for import: serve takes every line");
	if (tls.server_name)
		return usage_err("serve", "--server-name is for import");
	rc = bridge_tls_init(b, &tls, b->addr.ss_family == AF_UNIX || addr_is_loopback(&b->addr),
			     NULL);
	if (rc) {
		if (!b->tls && !tls.psk_file && !tls.cert)
			logmsg("refusing to listen on %s without --psk-file or --cert", listen_at);
		return rc;
	}
	if (b->addr.ss_family != AF_UNIX && !b->tls && !b->insecure_loopback) {
		logmsg("refusing to listen on %s without TLS: any local user could reach the "
		       "exports with our rights (give --psk-file, or listen on unix:PATH, where "
		       "each OPEN is checked against the peer's credentials)", listen_at);
		return 2;
	}
	if (bridge_setup(b) || serve_start(b, listen_at))
		return 1;
	{
		char at[80];

		addr_str((struct sockaddr *)&b->addr, at, sizeof(at));
		logmsg("serving %d channel%s on %s (%s, %s, at most %d connections, "
		       "messages up to %u bytes)", b->nexports, b->nexports == 1 ? "" : "s", at,
		       bridge_tls_mode(b), ev_name(b->ev), b->max_conns,
		       b->max_msg);
	}
	rc = run_loop(b);
	if (b->addr.ss_family == AF_UNIX)
		unlink(((struct sockaddr_un *)&b->addr)->sun_path);
	return rc;
}

void serve_events(struct bridge *b)
{
	serve_accept(b);
}

/*
 * Per loop turn, before the wait: connections that became ready count as
 * such, the listener resumes after a pause, and rate-limited lines that went
 * quiet get their summary.
 */
void serve_tick(struct bridge *b, int64_t now, int64_t *next)
{
	for (int i = 0; i < b->nconns; i++)
		serve_conn_ready(b, b->conns[i]);
	serve_reap(b);
	if (b->accept_at && now >= b->accept_at) {
		b->accept_at = 0;
		ev_watch(b->ev, b->lfd, POLLIN, &b->ltag);
	}
	if (b->accept_at && b->accept_at < *next)
		*next = b->accept_at;
	log_rl_flush();
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

// SPDX-License-Identifier: GPL-2.0
/*
 * chanbridge import: one connection to a serve carrying every imported
 * channel, re-established with exponential backoff.  The local channels
 * and their fds outlive connections, which is what makes resuming work.
 */
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
#include "log.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	5000

int import_add_channel(struct bridge *b, const char *remote, size_t rl, int dir,
		       const char *local, size_t ll)
{
	struct impch *ic;

	if (b->nimports >= CB_MAX_CHANS)
		return usage_err("import", "at most %d channels", CB_MAX_CHANS);
	if (!cb_name_ok(remote, rl) || !cb_name_ok(local, ll))
		return usage_err("import", "bad channel name");
	ic = &b->imports[b->nimports++];
	memcpy(ic->remote, remote, rl);
	memcpy(ic->local, local, ll);
	ic->dir = dir;
	ic->fd = -1;
	for (int i = 0; i < b->nimports - 1; i++) {
		if (!strcmp(b->imports[i].local, ic->local))
			return usage_err("import", "local channel %s imported twice", ic->local);
		/* The server opens an export at most once per direction per connection. */
		if (!strcmp(b->imports[i].remote, ic->remote) && b->imports[i].dir == dir)
			return usage_err("import", "%s imported twice in one direction", ic->remote);
	}
	return 0;
}

/*
 * Create (or reuse) and open the local channel of ic; 0, or -1 if the
 * connection was killed (it will try again) or the channel failed for good.
 */
static int local_open(struct conn *c, struct impch *ic, uint32_t msg_max)
{
	struct bridge *b = c->b;
	uint32_t cap = b->capacity_set ? b->capacity : b->window;
	struct kchan_info info;
	int rc = kch_create(ic->local, cap, msg_max);

	if (rc < 0) {
		/* Local, not the peer's doing: retrying would not mend it. */
		logmsg("create /dev/chan/%s: %s", ic->local, strerror(-rc));
		ic->failed = 1;
		return -1;
	}
	logmsg("channel %s: %s /dev/chan/%s", ic->remote,
	       rc == 1 ? "reusing the existing" : "created", ic->local);
	rc = kch_open(ic->local, ic->dir == CB_DIR_RECV);
	if (rc >= 0) {
		int err = kch_info(rc, &info);

		if (err < 0) {
			close(rc);	/* opened just now: nothing held */
			rc = err;
		}
	}
	if (rc < 0) {
		logmsg("open /dev/chan/%s: %s", ic->local, strerror(-rc));
		ic->failed = 1;
		return -1;
	}
	ic->fd = rc;
	ic->stream = info.id;
	return 0;
}

/*
 * Authenticated: open the channels.  A --recv channel's local destination
 * is created now, before OPEN, with the connection's maximum message size
 * (the export's msg_max is at most that): its identity (info.id) is the
 * importer's identity in OPEN, the same after a restart, which lets a
 * reconnect pre-empt the stale stream of a half-dead earlier connection.
 */
void import_ready(struct conn *c)
{
	struct bridge *b = c->b;

	if (!b->busy)
		b->backoff_ms = 0;
	for (int i = 0; i < c->nstreams; i++) {
		struct stream *s = c->streams[i];
		struct impch *ic = &b->imports[s->id - 1];

		if (ic->dir == CB_DIR_RECV && ic->fd < 0 && local_open(c, ic, c->max_msg) < 0) {
			if (c->state == C_DEAD)
				return;
			s->state = S_FAILED;
			continue;
		}
		s->importer = ic->yield ? 0 : ic->stream;
		s->owed |= P_OPEN;
	}
}

/* The remote channel's identity: the same, or re-created (say so). */
static void far_identity(struct conn *c, struct impch *ic, uint64_t id)
{
	if (ic->far_id && ic->far_id != id)
		logmsg("conn %d %s: channel %s was re-created on the server (%016llx, was %016llx)%s",
		       c->id, c->peer, ic->remote, (unsigned long long)id,
		       (unsigned long long)ic->far_id,
		       ic->dir == CB_DIR_SEND ? ": what it had not acked is sent to the new one" :
						": a new stream, from its first message");
	ic->far_id = id;
}

void import_opened(struct conn *c, struct stream *s, const struct cb_frame *f)
{
	struct bridge *b = c->b;
	struct impch *ic = &b->imports[s->id - 1];
	struct kchan_info info;
	int rc;

	if (ic->fd < 0 && local_open(c, ic, f->u32) < 0) {
		if (c->state != C_DEAD)
			s->state = S_FAILED;
		return;
	}
	rc = kch_info(ic->fd, &info);
	if (rc < 0) {
		conn_kill(c, 0, "KCHAN_IOC_INFO: %s", strerror(-rc));
		return;
	}
	if (ic->dir == CB_DIR_RECV && info.msg_max < f->u32)
		logmsg("warning: /dev/chan/%s takes messages up to %u bytes, %s up to %u",
		       ic->local, info.msg_max, ic->remote, f->u32);
	far_identity(c, ic, f->stream);
	s->fd = ic->fd;
	s->capacity = info.capacity;
	s->state = S_RUN;
	b->busy = 0;
	ic->yield = 0;
	if (s->role == ROLE_DST) {
		s->msg_max = f->u32;
		s->stream = f->stream;
		rc = kch_stream_seq(s->fd, s->stream, &s->committed);
		if (rc < 0) {
			conn_kill(c, 0, "KCHAN_IOC_STREAM_SEQ: %s", strerror(-rc));
			return;
		}
		s->last_rx = s->committed;
		s->owed |= P_RESUME;
		logmsg("conn %d %s: channel %s -> /dev/chan/%s: resuming after seq %llu", c->id,
		       c->peer, ic->remote, ic->local, (unsigned long long)s->committed);
	} else {
		s->msg_max = info.msg_max;
		s->far_msg_max = f->u32;
		s->stream = ic->stream;
		s->owed |= P_STREAM;
		logmsg("conn %d %s: channel /dev/chan/%s -> %s: open", c->id, c->peer, ic->local,
		       ic->remote);
	}
}

/*
 * CB_ERR_BUSY: another importer holds the source.  Refused at OPEN, try
 * again with backoff.  Pre-empted while running, by a connection with our
 * identity (another importer into the same local channel, or a restart of
 * this one): it is alive, so do not pre-empt it back, which would flap the
 * source between the two; open without the identity until it lets go.
 */
void import_busy(struct conn *c, struct stream *s, const char *text)
{
	struct impch *ic = &c->b->imports[s->id - 1];

	if (s->state == S_RUN)
		ic->yield = 1;
	c->busy = 1;
	conn_kill(c, 0, "channel %s: %s: %s", s->name, text,
		  ic->yield ? "waiting for the other importer to let go" : "retrying later");
}

void import_stream_end(struct bridge *b, struct stream *s)
{
	struct impch *ic = &b->imports[s->id - 1];

	if (s->state == S_DONE)
		ic->done = 1;
	else
		ic->failed = 1;
}

static void import_connect(struct bridge *b)
{
	int fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct conn *c;
	int one = 1, i;

	if (fd < 0) {
		logmsg("socket: %s", strerror(errno));
		b->reconnect_at = now_ms() + BACKOFF_MAX_MS;
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = conn_new(b, fd, b->target, C_CONNECTING);
	if (!c) {
		close(fd);
		b->reconnect_at = now_ms() + BACKOFF_MAX_MS;
		return;
	}
	for (i = 0; i < b->nimports; i++) {
		struct impch *ic = &b->imports[i];
		struct stream *s;

		if (ic->done || ic->failed)
			continue;
		s = calloc(1, sizeof(*s));
		if (!s)
			continue;
		s->tag.kind = T_CHAN;
		s->c = c;
		s->id = (uint32_t)i + 1;
		s->role = ic->dir == CB_DIR_SEND ? ROLE_SRC : ROLE_DST;
		s->state = S_OPENING;
		s->fd = -1;
		snprintf(s->name, sizeof(s->name), "%s", ic->remote);
		s->window = b->window;
		s->st = &ic->st;
		s->st->window = b->window;
		c->streams[c->nstreams++] = s;
	}
	b->conn = c;
	logmsg("conn %d %s: connecting", c->id, c->peer);
	if (connect(fd, (struct sockaddr *)&b->addr, b->addrlen) == 0)
		conn_start(c);
	else if (errno != EINPROGRESS)
		conn_kill(c, 0, "connect: %s", strerror(errno));
	else
		conn_update(c);
}

/*
 * Every connection that ends is tried again: nothing said before the
 * handshake is final, and a source busy with another importer frees up.
 * Only a channel the authenticated server refused fails for good.
 */
void import_conn_dead(struct bridge *b, struct conn *c)
{
	logmsg("conn %d %s: closed", c->id, c->peer);
	b->busy = c->busy;
	conn_free(c);
	b->conn = NULL;
	b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (b->backoff_ms > BACKOFF_MAX_MS)
		b->backoff_ms = BACKOFF_MAX_MS;
	b->reconnect_at = now_ms() + b->backoff_ms;
	logmsg("reconnecting in %d ms", b->backoff_ms);
}

/* Per loop turn: reap, check whether all is done, reconnect when due. */
void import_tick(struct bridge *b, int64_t now, int64_t *next)
{
	int live = 0, failed = 0, i;

	if (b->conn) {
		conn_timers(b->conn, now);
		if (b->conn->state == C_DEAD)
			import_conn_dead(b, b->conn);
	}
	if (b->stop)
		return;
	for (i = 0; i < b->nimports; i++) {
		live += !b->imports[i].done && !b->imports[i].failed;
		failed += b->imports[i].failed;
	}
	if (!live) {
		/* Let the last frames (CLOSE_ACK) leave before exiting. */
		if (b->conn && b->conn->wlen)
			goto wait;
		logmsg("every channel is %s: exiting", failed ? "closed or failed" : "closed");
		b->rc = failed ? 1 : 0;
		b->stop = 1;
		return;
	}
wait:
	if (b->conn) {
		int64_t t = conn_next_timer(b->conn);

		if (t < *next)
			*next = t;
		return;
	}
	if (now >= b->reconnect_at) {
		import_connect(b);
		if (b->conn && b->conn->state == C_DEAD)
			*next = now;
		return;
	}
	if (b->reconnect_at < *next)
		*next = b->reconnect_at;
}

/* The host part of ADDR:PORT, the name the server's certificate must carry. */
static void target_host(const char *target, char *out, size_t len)
{
	const char *end = strrchr(target, ':');
	size_t n;

	if (target[0] == '[') {
		target++;
		end = strchr(target, ']');
	}
	n = end ? (size_t)(end - target) : strlen(target);
	n = strcspn(target, "%") < n ? strcspn(target, "%") : n;
	snprintf(out, len, "%.*s", (int)n, target);
}

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "send", no_argument, NULL, 'S' },
		{ "recv", no_argument, NULL, 'R' },
		{ "as", required_argument, NULL, 'a' },
		{ "window", required_argument, NULL, 'w' },
		{ "capacity", required_argument, NULL, 'C' },
		TLS_LONGOPTS,
		{ "status-socket", required_argument, NULL, 's' },
		{ "io", required_argument, NULL, 'i' },
		{ "channel", required_argument, NULL, 'c' },
		{ "keepalive", required_argument, NULL, 'K' },
		{ "handshake-timeout", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct bridge *b = bridge_new(0);
	const char *as = NULL;
	struct bridge_tls_opts tls = { 0 };
	char host[80];
	char *extra[CB_MAX_CHANS];
	int nextra = 0, dir = 0, o, i, v;

	if (!b)
		return 1;
	snprintf(b->status_path, sizeof(b->status_path), "/run/chanbridge-import.sock");
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (bridge_tls_getopt(o, optarg, &tls))
			continue;
		switch (o) {
		case 'S': case 'R':
			if (dir)
				return usage_err("import", "give one of --send and --recv");
			dir = o == 'S' ? CB_DIR_SEND : CB_DIR_RECV;
			break;
		case 'a': as = optarg; break;
		case 'w':
			if (parse_num(optarg, 1, CB_WINDOW_MAX, &v))
				return usage_err("import", "--window wants 1..%d", CB_WINDOW_MAX);
			b->window = (uint32_t)v;
			break;
		case 'C':
			if (parse_num(optarg, 0, 1 << 20, &v))
				return usage_err("import", "--capacity wants 0..%d", 1 << 20);
			b->capacity = (uint32_t)v;
			b->capacity_set = 1;
			break;
		case 's':
			if (strlen(optarg) >= sizeof(b->status_path))
				return usage_err("import", "--status-socket path too long");
			snprintf(b->status_path, sizeof(b->status_path), "%s", optarg);
			break;
		case 'i':
			if (parse_io(optarg, &b->io))
				return usage_err("import", "--io wants uring or epoll");
			break;
		case 'c':
			if (nextra >= CB_MAX_CHANS)
				return usage_err("import", "at most %d channels", CB_MAX_CHANS);
			extra[nextra++] = optarg;
			break;
		case 'K':
			if (parse_num(optarg, 1, 3600, &b->keepalive_ms))
				return usage_err("import", "--keepalive wants 1..3600 seconds");
			b->keepalive_ms *= 1000;
			break;
		case 'H':
			if (parse_num(optarg, 1, 3600, &b->hs_timeout_ms))
				return usage_err("import", "--handshake-timeout wants 1..3600 seconds");
			b->hs_timeout_ms *= 1000;
			break;
		case 'h': fputs(USAGE_IMPORT, stdout); return 0;
		default: fputs(USAGE_IMPORT, stderr); return 2;
		}
	}
	if (argc - optind != 2)
		return usage_err("import", "want ADDR:PORT and NAME");
	b->target = argv[optind];
	if (addr_parse(b->target, &b->addr, &b->addrlen))
		return usage_err("import", "%s: want ADDR:PORT", b->target);
	if (!dir)
		return usage_err("import", "give --send or --recv");
	if (!as)
		as = argv[optind + 1];
	if (import_add_channel(b, argv[optind + 1], strlen(argv[optind + 1]), dir, as, strlen(as)))
		return 2;
	for (i = 0; i < nextra; i++) {
		/* NAME:send|recv[:LOCAL] */
		char *c1 = strchr(extra[i], ':'), *c2;
		int d;

		if (!c1)
			return usage_err("import", "--channel %s: want NAME:send|recv[:LOCAL]", extra[i]);
		c2 = strchr(c1 + 1, ':');
		if (!strncmp(c1 + 1, "send", c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1)) &&
		    (c2 ? c2 - c1 - 1 : (long)strlen(c1 + 1)) == 4)
			d = CB_DIR_SEND;
		else if (!strncmp(c1 + 1, "recv", c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1)) &&
			 (c2 ? c2 - c1 - 1 : (long)strlen(c1 + 1)) == 4)
			d = CB_DIR_RECV;
		else
			return usage_err("import", "--channel %s: want NAME:send|recv[:LOCAL]", extra[i]);
		if (import_add_channel(b, extra[i], (size_t)(c1 - extra[i]), d, c2 ? c2 + 1 : extra[i],
				c2 ? strlen(c2 + 1) : (size_t)(c1 - extra[i])))
			return 2;
	}
	target_host(b->target, host, sizeof(host));
	v = bridge_tls_init(b, &tls, b->addr.ss_family == AF_UNIX || addr_is_loopback(&b->addr),
			     host);
	if (v)
		return v;
	if (bridge_setup(b))
		return 1;
	logmsg("importing %d channel%s from %s (%s, %s, window %u)", b->nimports,
	       b->nimports == 1 ? "" : "s", b->target, bridge_tls_mode(b), ev_name(b->ev),
	       b->window);
	return run_loop(b);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * chanbridge: kchan channels across hosts over TCP, with no loss, no
 * duplicates and per-channel FIFO (chanbridge(1)).  This file: the command
 * line and the event loop both roles share.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "keyfile.h"
#include "log.h"

int usage_err(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "chanbridge %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (chanbridge %s --help)\n", cmd);
	return 2;
}

int parse_num(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || !*s || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

int parse_io(const char *s, enum ev_kind *io)
{
	if (!strcmp(s, "uring") || !strcmp(s, "io_uring"))
		*io = EV_URING;
	else if (!strcmp(s, "epoll"))
		*io = EV_EPOLL;
	else
		return -1;
	return 0;
}

struct bridge *bridge_new(int server)
{
	struct bridge *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->server = server;
	b->io = EV_URING;
	b->max_msg = 65536;
	b->max_conns = 64;
	b->max_handshakes = 16;
	b->max_per_addr = 4;
	b->keepalive_ms = 5000;
	b->hs_timeout_ms = 10000;
	b->window = 64;
	b->lfd = b->status_fd = b->sigfd = -1;
	if (getenv("CHANBRIDGE_CRASH_AFTER_COMMIT"))
		b->crash_after = strtoull(getenv("CHANBRIDGE_CRASH_AFTER_COMMIT"), NULL, 10);
	return b;
}

/* The loop and the hold buffer: all a bridge needs to run (tests start here). */
int bridge_setup_loop(struct bridge *b)
{
	signal(SIGPIPE, SIG_IGN);
	b->scratch = malloc(CB_MSG_HARD_MAX);
	b->ev = ev_new(b->io);
	if (!b->scratch || !b->ev) {
		logmsg("setup: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The loop, signals (a signalfd: no race with the wait), the status socket. */
int bridge_setup(struct bridge *b)
{
	sigset_t set;

	if (bridge_setup_loop(b))
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	b->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (b->sigfd < 0) {
		logmsg("signalfd: %s", strerror(errno));
		return -1;
	}
	b->sigtag.kind = T_SIGNAL;
	ev_watch(b->ev, b->sigfd, POLLIN, &b->sigtag);
	if (status_listen(b) == 0)
		ev_watch(b->ev, b->status_fd, POLLIN, &b->stag);
	return 0;
}

/*
 * One turn of the loop: timers, a wait of at most wait_ms (-1: until the
 * next timer) for events, their handling.  run_loop() turns it until the
 * bridge stops; a test running several bridges turns each with wait_ms 0.
 */
void bridge_turn(struct bridge *b, int wait_ms)
{
	struct ev_event ev[64];
	int64_t now = now_ms(), next = now + 1000;
	int n, i;

	if (b->server) {
		for (i = 0; i < b->nconns; i++) {
			struct conn *c = b->conns[i];
			int64_t t;

			conn_timers(c, now);
			t = conn_next_timer(c);
			if (t < next)
				next = t;
		}
		serve_tick(b, now, &next);
	} else {
		import_tick(b, now, &next);
		if (b->stop)
			return;
	}
	if (wait_ms < 0 || now + wait_ms > next)
		wait_ms = next > now ? (int)(next - now) : 0;
	n = ev_wait(b->ev, ev, 64, wait_ms);
	if (n < 0 && n != -EINTR) {
		logmsg("%s wait: %s", ev_name(b->ev), strerror(-n));
		b->rc = 1;
		b->stop = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		struct tag *t = ev[i].tag;

		switch (t->kind) {
		case T_LISTEN: serve_events(b); break;
		case T_CONN: conn_event((struct conn *)t, ev[i].events); break;
		case T_CHAN: stream_event((struct stream *)t, ev[i].events); break;
		case T_STATUS: status_serve(b); break;
		case T_SIGNAL: {
			struct signalfd_siginfo si;

			if (read(b->sigfd, &si, sizeof(si)) == sizeof(si)) {
				logmsg("signal %d: shutting down", (int)si.ssi_signo);
				b->stop = 1;
			}
			break;
		}
		}
	}
	if (b->server)
		serve_reap(b);
}

/* A clean stop: every connection closed, its holds returned. */
void bridge_shutdown(struct bridge *b)
{
	if (b->server) {
		for (int i = 0; i < b->nconns; i++) {
			logmsg("conn %d %s: closed (shutdown)", b->conns[i]->id, b->conns[i]->peer);
			conn_free(b->conns[i]);
		}
		b->nconns = 0;
	} else if (b->conn) {
		conn_free(b->conn);
		b->conn = NULL;
	}
	if (b->status_fd >= 0)
		unlink(b->status_path);
}

int run_loop(struct bridge *b)
{
	while (!b->stop)
		bridge_turn(b, -1);
	bridge_shutdown(b);
	return b->rc;
}

static void usage(FILE *f)
{
	fputs("chanbridge: kchan channels across hosts over TCP, without loss (chanbridge(1))\n\n",
	      f);
	fputs(USAGE_SERVE, f);
	fputs(USAGE_IMPORT, f);
	fputs(USAGE_STATUS, f);
	fputs(USAGE_GENKEY, f);
	fputs("Exit status: 0 after a clean shutdown (SIGINT/SIGTERM), 1 on errors, 2 on usage errors.\n",
	      f);
}

/* chanbridge genkey [--identity NAME] FILE: a new key file of one line. */
static int cmd_genkey(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "identity", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char host[KF_ID_MAX + 1] = "", err[512];
	const char *id = NULL;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'I': id = optarg; break;
		case 'h': fputs(USAGE_GENKEY, stdout); return 0;
		default: fputs(USAGE_GENKEY, stderr); return 2;
		}
	}
	if (argc - optind != 1)
		return usage_err("genkey", "want one FILE");
	if (!id) {
		/* The short host name: the line then says whose key it is. */
		if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
			snprintf(host, sizeof(host), "chanbridge");
		host[strcspn(host, ".")] = 0;
		id = host;
	}
	if (keyfile_genkey(argv[optind], id, err, sizeof(err))) {
		fprintf(stderr, "chanbridge genkey: %s\n", err);
		return 1;
	}
	printf("%s: a new key for identity \"%s\"; give the serving side this line "
	       "(its --psk-file takes one line per importer)\n", argv[optind], id);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "import"))
		return cmd_import(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "genkey"))
		return cmd_genkey(argc - 1, argv + 1);
	fprintf(stderr, "chanbridge: unknown command %s\n", argv[1]);
	usage(stderr);
	return 2;
}

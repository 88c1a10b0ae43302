// SPDX-License-Identifier: GPL-2.0
/*
 * chan_stress: W writer and R reader processes hammer one channel, first a
 * buffered one, then an unbuffered one, while a chaos process interrupts
 * them with SIGUSR1 (a handler without SA_RESTART, so blocked reads and
 * writes fail with EINTR and are retried) and every worker flips O_NONBLOCK
 * at random (EAGAIN is answered with poll() and a retry).
 *
 * Message (writer, seq) is built from (writer, seq) alone: its length, 1 to
 * msg_max, and every byte.  It starts with the writer's id and, from 5
 * bytes on, the seq; from 9 bytes on, a checksum of the whole follows; the
 * rest is a pseudo-random payload.  A reader checks the checksum, rebuilds
 * the message and compares, marks (writer, seq) in shared memory, and checks
 * that seq rises per writer in what it sees.  The verdict: each message a
 * writer reported as sent arrived exactly once and intact, nothing else
 * arrived, and per-writer order held.  Messages of 1 to 4 bytes cannot say
 * their seq: for them only the writer and the count per writer are checked.  Then the channel is
 * closed, the readers must drain to EOF, KCHAN_IOC_INFO and the fd's
 * /proc/self/fdinfo must say len 0 and sent == received == total, and
 * destroy must leave nothing behind (no node, no entry in /dev/chan).
 * Last, as root with KCHAN_KO set, rmmod must be refused while /dev/chan is
 * mounted, and after it is unmounted while a control fd is open, and
 * succeed after that is closed; insmod $KCHAN_KO and mounting /dev/chan
 * again must bring the module back.
 *
 * Standalone kselftest (TAP via kselftest.h, not the harness): one test per
 * phase.  Never hangs: each wait has a deadline, and a global alarm() (-t)
 * kills everything and bails out.
 *
 *   chan_stress [-w W] [-r R] [-n MSGS] [-d SECS] [-m MSG_MAX] [-c CAP] [-t SECS]
 *               [-i USECS] [-s SEED]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kchan.h>

#include "kselftest.h"

#define MAX_WRITERS	64
#define MAX_READERS	64
/* Diagnostics printed per phase before the rest are only counted. */
#define MAX_REPORTS	20

/*
 * Message layout: [0] writer, [1..4] seq (little-endian) if len >= 5,
 * [5..8] FNV-1a of the message with these bytes zero if len >= 9, then
 * payload.  Shorter messages hold a prefix of that.
 */
#define MSG_SEQ_AT	1
#define MSG_SUM_AT	5
#define MSG_ID_LEN	5	/* shortest message that names its seq */
#define MSG_SUM_LEN	9	/* shortest message with a checksum */
#define MSG_MAX_MIN	16	/* smallest msg_max we accept */

/* What one worker saw; all of it is informational except errors. */
struct worker_stats {
	uint64_t msgs;
	uint64_t eintr;
	uint64_t eagain;
	uint64_t emsgsize;	/* readers: short buffer refused; writers: oversize refused */
	uint64_t flips;		/* O_NONBLOCK changes */
	uint64_t signals;	/* SIGUSR1 handled */
};

/* In MAP_SHARED memory: set up by main, filled in by the workers. */
struct shared {
	uint64_t deadline_ns;		/* writers start no message after this */
	int chaos_stop;
	int nworkers;
	pid_t worker_pid[MAX_WRITERS + MAX_READERS];
	uint64_t sent[MAX_WRITERS];	/* writer w sent seq 0..sent[w]-1 */
	uint64_t tiny_sent[MAX_WRITERS];	/* of those, messages too short to name their seq */
	uint64_t tiny_received[MAX_WRITERS];
	struct worker_stats stats[MAX_WRITERS + MAX_READERS];
	uint64_t signals_sent;
	int errors;			/* verification failures and unexpected errnos */
	int reports;
	uint8_t seen[];			/* [writer * nmsgs + seq]: times received */
};

/* Settings, fixed before any fork. */
static unsigned int nwriters = 4, nreaders = 4;
static unsigned int nmsgs = 20000;
static unsigned int duration = 20;	/* seconds per channel, at most */
static unsigned int msg_max = 1024;
static unsigned int buffered_capacity = 8;
static unsigned int timeout;		/* global; 0: 2 * duration + 40 */
static unsigned int chaos_gap_us = 1000;	/* longest pause between two signals */
static uint64_t seed;

static struct shared *sh;
static size_t sh_size;
static int control_fd = -1;
static pid_t chaos_pid = -1;
static char chan_names[2][KCHAN_NAME_MAX];	/* for the alarm handler's cleanup */

/* ---------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* A worker's own random stream (xorshift64*). */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void rnd_seed(uint64_t s)
{
	rng_state = mix64(s) | 1;
}

static uint32_t fnv1a(const void *p, size_t n, uint32_t h)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 16777619U;
	return h;
}

/* The length of message (w, seq): anything, often the extremes. */
static uint32_t msg_len(uint32_t w, uint32_t seq)
{
	uint64_t h = mix64(((uint64_t)w << 32 | seq) ^ 0x5eed);

	switch (h & 15) {
	case 0:
		return msg_max;
	case 1:
		return 1 + (h >> 8) % MSG_SUM_LEN;	/* 1..9: the short layouts */
	default:
		return 1 + (h >> 8) % msg_max;
	}
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t get32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t msg_csum(const unsigned char *m, uint32_t len)
{
	static const unsigned char zero[4];
	uint32_t h = 2166136261U;

	h = fnv1a(m, MSG_SUM_AT, h);
	h = fnv1a(zero, 4, h);
	return fnv1a(m + MSG_SUM_LEN, len - MSG_SUM_LEN, h);
}

/* Message (w, seq) into buf; returns its length. */
static uint32_t msg_build(unsigned char *buf, uint32_t w, uint32_t seq)
{
	uint32_t len = msg_len(w, seq), i;
	uint64_t x = mix64((uint64_t)w << 32 | seq) | 1;
	unsigned char head[MSG_SUM_LEN];

	head[0] = w;
	put32(head + MSG_SEQ_AT, seq);
	put32(head + MSG_SUM_AT, 0);
	memcpy(buf, head, len < MSG_SUM_LEN ? len : MSG_SUM_LEN);
	for (i = MSG_SUM_LEN; i < len; i++) {
		if (i % 8 == 1) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		buf[i] = x >> (8 * (i % 8));
	}
	if (len >= MSG_SUM_LEN)
		put32(buf + MSG_SUM_AT, msg_csum(buf, len));
	return len;
}

/* ---------------------------------------------------------------------- */

/* One "# ..." line from any process, in a single write(): lines never mix. */
static __attribute__((format(printf, 1, 2))) void diag(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "# [%d] ", (int)getpid());
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDOUT_FILENO, line, n) < 0)
		return;
}

/* A failure seen by a worker (or main): count it, describe the first few. */
#define fail_msg(...) do {						\
	__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);		\
	if (__atomic_fetch_add(&sh->reports, 1, __ATOMIC_RELAXED) < MAX_REPORTS) \
		diag(__VA_ARGS__);					\
} while (0)

static volatile sig_atomic_t signals_caught;

static void on_sigusr1(int sig)
{
	(void)sig;
	signals_caught++;
}

static int set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static void worker_start(pid_t parent, unsigned int slot)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(3);
	rnd_seed(seed ^ ((uint64_t)(slot + 1) << 40) ^ (uint64_t)getpid());
}

/*
 * Writer w: messages (w, 0), (w, 1), ... until nmsgs or the deadline.  A
 * message counts as sent once write() returned its length; EINTR and
 * EAGAIN mean it was not sent and is written again.
 */
static __attribute__((noreturn)) void writer(const char *path, unsigned int w)
{
	struct worker_stats *st = &sh->stats[w];
	unsigned char *buf = malloc(msg_max + 1);
	int fd, nonblock = 0, streak;
	uint32_t seq;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (!buf || fd < 0) {
		fail_msg("writer %u: open %s: %s", w, path, strerror(errno));
		_exit(1);
	}
	for (seq = 0; seq < nmsgs; seq++) {
		uint32_t len;

		if (now_ns() > sh->deadline_ns)
			break;
		len = msg_build(buf, w, seq);

		if (rnd() % 32 == 0) {
			nonblock = !nonblock;
			if (set_nonblock(fd, nonblock))
				fail_msg("writer %u: fcntl: %s", w, strerror(errno));
			st->flips++;
		}
		/* Now and then, what must send nothing: an empty or oversized write. */
		if (rnd() % 256 == 0) {
			ssize_t r = write(fd, buf, 0);

			if (r != 0)
				fail_msg("writer %u: write of 0 bytes returned %zd (%s)", w, r,
					 r < 0 ? strerror(errno) : "not 0");
		}
		if (!nonblock && rnd() % 256 == 0) {
			ssize_t r;

			do
				r = write(fd, buf, msg_max + 1);
			while (r < 0 && errno == EINTR);
			if (r < 0 && errno == EMSGSIZE)
				st->emsgsize++;
			else
				fail_msg("writer %u: write of msg_max+1 bytes: %zd (%s), want EMSGSIZE",
					 w, r, r < 0 ? strerror(errno) : "accepted");
		}

		for (streak = 0;;) {
			ssize_t r;

			if (rnd() % 8 == 0) {
				/* writev gathers its vectors into one message */
				uint32_t cut = rnd() % (len + 1);
				struct iovec iov[2] = {
					{ buf, cut }, { buf + cut, len - cut },
				};

				r = writev(fd, iov, 2);
			} else {
				r = write(fd, buf, len);
			}
			if (r == (ssize_t)len)
				break;
			if (r >= 0) {
				fail_msg("writer %u: seq %u: write returned %zd of %u", w, seq, r, len);
				_exit(1);
			}
			if (errno == EINTR) {
				st->eintr++;
				continue;
			}
			if (errno == EAGAIN && nonblock) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				st->eagain++;
				/* Two pollers never meet on an unbuffered channel: block in the end. */
				if (++streak >= 4) {
					nonblock = 0;
					set_nonblock(fd, 0);
					st->flips++;
				} else if (poll(&pfd, 1, 20) < 0 && errno != EINTR) {
					fail_msg("writer %u: poll: %s", w, strerror(errno));
				}
				continue;
			}
			fail_msg("writer %u: seq %u: write: %s%s", w, seq, strerror(errno),
				 errno == EAGAIN ? " in blocking mode" : "");
			_exit(1);
		}
		st->msgs++;
		if (len < MSG_ID_LEN)
			sh->tiny_sent[w]++;
		__atomic_store_n(&sh->sent[w], (uint64_t)seq + 1, __ATOMIC_RELEASE);
	}
	st->signals = signals_caught;
	_exit(0);
}

/* Check one received message against its rebuilt self; record it. */
static void check_msg(unsigned int r, const unsigned char *buf, ssize_t n,
		      unsigned char *expect, int64_t *last_seq)
{
	uint32_t w = buf[0], seq;
	uint8_t before;

	if (w >= nwriters) {
		fail_msg("reader %u: %zd-byte message from writer %u: no such writer", r, n, w);
		return;
	}
	if (n < MSG_ID_LEN) {
		__atomic_fetch_add(&sh->tiny_received[w], 1, __ATOMIC_RELAXED);
		return;
	}
	seq = get32(buf + MSG_SEQ_AT);
	if (seq >= nmsgs) {
		fail_msg("reader %u: %zd-byte message from writer %u: seq %u out of range",
			 r, n, w, seq);
		return;
	}
	if (n != (ssize_t)msg_len(w, seq)) {
		fail_msg("reader %u: (%u, %u): read %zd bytes, %u were sent", r, w, seq, n,
			 msg_len(w, seq));
		return;
	}
	if (n >= MSG_SUM_LEN && msg_csum(buf, n) != get32(buf + MSG_SUM_AT)) {
		fail_msg("reader %u: (%u, %u): bad checksum", r, w, seq);
		return;
	}
	msg_build(expect, w, seq);
	if (memcmp(buf, expect, n)) {
		fail_msg("reader %u: (%u, %u): payload differs from what was sent", r, w, seq);
		return;
	}
	if ((int64_t)seq <= last_seq[w])
		fail_msg("reader %u: writer %u: seq %u after seq %lld: out of order", r,
			 w, seq, (long long)last_seq[w]);
	last_seq[w] = seq;
	before = __atomic_fetch_add(&sh->seen[(size_t)w * nmsgs + seq], 1, __ATOMIC_RELAXED);
	if (before)
		fail_msg("reader %u: (%u, %u) received again (%u times before)", r, w, seq,
			 before);
}

/*
 * Reader r: read until EOF.  Now and then with a buffer shorter than
 * msg_max: EMSGSIZE then means the head message is longer, and it stays
 * queued for the next read.
 */
static __attribute__((noreturn)) void reader(const char *path, unsigned int r)
{
	struct worker_stats *st = &sh->stats[nwriters + r];
	unsigned char *buf = malloc(msg_max), *expect = malloc(msg_max);
	int64_t last_seq[MAX_WRITERS];
	int fd, nonblock = 0, streak = 0;
	unsigned int i;

	for (i = 0; i < MAX_WRITERS; i++)
		last_seq[i] = -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!buf || !expect || fd < 0) {
		fail_msg("reader %u: open %s: %s", r, path, strerror(errno));
		_exit(1);
	}
	for (;;) {
		size_t size = msg_max;
		ssize_t n;

		if (rnd() % 32 == 0) {
			nonblock = !nonblock;
			if (set_nonblock(fd, nonblock))
				fail_msg("reader %u: fcntl: %s", r, strerror(errno));
			st->flips++;
		}
		if (rnd() % 16 == 0)
			size = 1 + rnd() % (msg_max - 1);
		n = read(fd, buf, size);
		if (n > 0) {
			check_msg(r, buf, n, expect, last_seq);
			st->msgs++;
			streak = 0;
			continue;
		}
		if (n == 0)
			break;		/* closed and drained */
		if (errno == EINTR) {
			st->eintr++;
		} else if (errno == EMSGSIZE && size < msg_max) {
			st->emsgsize++;
		} else if (errno == EAGAIN && nonblock) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			st->eagain++;
			if (++streak >= 4) {
				nonblock = 0;
				set_nonblock(fd, 0);
				st->flips++;
				streak = 0;
			} else if (poll(&pfd, 1, 20) < 0 && errno != EINTR) {
				fail_msg("reader %u: poll: %s", r, strerror(errno));
			}
		} else {
			fail_msg("reader %u: read(%zu bytes): %s%s", r, size, strerror(errno),
				 errno == EAGAIN ? " in blocking mode" : "");
			_exit(1);
		}
	}
	st->signals = signals_caught;
	_exit(0);
}

/* SIGUSR1 to a random worker every 0..chaos_gap_us, until told to stop. */
static __attribute__((noreturn)) void chaos(void)
{
	while (!__atomic_load_n(&sh->chaos_stop, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { 0, rnd() % (chaos_gap_us * 1000ULL + 1) };
		pid_t pid = sh->worker_pid[rnd() % sh->nworkers];

		nanosleep(&ts, NULL);
		if (pid > 0 && kill(pid, SIGUSR1) == 0)
			sh->signals_sent++;
	}
	_exit(0);
}

/* ---------------------------------------------------------------------- */

static int chan_create(const char *name, unsigned int capacity)
{
	struct kchan_create req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.capacity = capacity;
	req.msg_max = msg_max;
	req.mode = 0600;
	snprintf(req.name, sizeof(req.name), "%s", name);
	return ioctl(control_fd, KCHAN_IOC_CREATE, &req) ? -errno : 0;
}

static int chan_destroy(const char *name)
{
	struct kchan_name req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	snprintf(req.name, sizeof(req.name), "%s", name);
	return ioctl(control_fd, KCHAN_IOC_DESTROY, &req) ? -errno : 0;
}

static int chan_info(int fd, struct kchan_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, KCHAN_IOC_INFO, info) ? -errno : 0;
}

/* The "key:\t<n>" line of /proc/self/fdinfo/<fd> as a number; -1 if none. */
static long long fdinfo_attr(int fd, const char *key)
{
	char path[64], buf[4096], *p;
	size_t klen = strlen(key);
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == ':')
			return strtoll(p + klen + 1, NULL, 10);
	return -1;
}

/* Entries in /dev/chan (not the dotfiles): every named channel of every user; -1 if unreadable. */
static int count_channels(void)
{
	DIR *dir = opendir(KCHAN_DEV_DIR);
	struct dirent *de;
	int n = 0;

	if (!dir)
		return -1;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* Whether readdir() of /dev/chan lists @name. */
static int listed(const char *name)
{
	DIR *dir = opendir(KCHAN_DEV_DIR);
	struct dirent *de;
	int found = 0;

	if (!dir)
		return 0;
	while ((de = readdir(dir)))
		if (!strcmp(de->d_name, name))
			found = 1;
	closedir(dir);
	return found;
}

/*
 * Unmounts (detached, as umount -l) every kchan instance in
 * /proc/self/mountinfo, the last mounted first: each pins the module.
 * The count, or -errno.
 */
static int umount_all(void)
{
	char dirs[16][256], line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int n = 0, i;

	if (!f)
		return -errno;
	while (n < 16 && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		char type[64];

		if (sep && sscanf(sep, " - %63s", type) == 1 && !strcmp(type, KCHAN_FS_TYPE) &&
		    sscanf(line, "%*s %*s %*s %*s %255s", dirs[n]) == 1)
			n++;
	}
	fclose(f);
	for (i = n - 1; i >= 0; i--)
		if (umount2(dirs[i], MNT_DETACH))
			return -errno;
	return n;
}

/*
 * Wait until each of @pids has exited, leaving them zombies (WNOWAIT) so
 * their pids cannot be reused while the chaos process signals them.
 * Returns how many exited with status 0; -1 if the deadline passed first.
 */
static int wait_exited(const pid_t *pids, unsigned int n, uint64_t deadline)
{
	unsigned int i, done = 0, good = 0;
	char *exited = calloc(n, 1);

	while (done < n) {
		for (i = 0; i < n; i++) {
			siginfo_t si;

			if (exited[i])
				continue;
			if (pids[i] <= 0) {	/* never forked */
				exited[i] = 1;
				done++;
				continue;
			}
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, pids[i], &si, WEXITED | WNOHANG | WNOWAIT) ||
			    si.si_pid == 0)
				continue;
			exited[i] = 1;
			done++;
			if (si.si_code == CLD_EXITED && si.si_status == 0)
				good++;
			else
				diag("worker %d: %s %d", (int)pids[i],
				     si.si_code == CLD_EXITED ? "exit status" : "killed by signal",
				     si.si_status);
		}
		if (done < n) {
			struct timespec ts = { 0, 5000000 };

			if (now_ns() > deadline) {
				free(exited);
				return -1;
			}
			nanosleep(&ts, NULL);
		}
	}
	free(exited);
	return good;
}

/* Global timeout: only async-signal-safe calls from here on. */
static void on_alarm(int sig)
{
	static const char msg[] = "Bail out! chan_stress: global timeout: killed every worker\n";
	int i;

	(void)sig;
	if (sh) {
		sh->chaos_stop = 1;
		for (i = 0; i < sh->nworkers; i++)
			if (sh->worker_pid[i] > 0)
				kill(sh->worker_pid[i], SIGKILL);
	}
	if (chaos_pid > 0)
		kill(chaos_pid, SIGKILL);
	for (i = 0; i < 2; i++)
		if (chan_names[i][0])
			chan_destroy(chan_names[i]);
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(KSFT_FAIL);
	_exit(KSFT_FAIL);
}

/* ---------------------------------------------------------------------- */

/* One channel through all its phases: five TAP results. */
static void run_channel(unsigned int idx, const char *label, unsigned int capacity)
{
	char *name = chan_names[idx];
	char path[sizeof(KCHAN_DEV_DIR) + KCHAN_NAME_MAX + 1];
	unsigned int nw = nwriters, nr = nreaders, i;
	pid_t pids[MAX_WRITERS + MAX_READERS], self = getpid();
	uint64_t total = 0, received = 0, missing = 0, extra = 0, start, elapsed;
	struct worker_stats wsum = { 0 }, rsum = { 0 };
	int fd, err, w_ok, r_ok = -1, traffic_ok, close_err;
	struct kchan_info info;
	struct stat st;

	snprintf(name, KCHAN_NAME_MAX, "stress-%d-%s", (int)self, label);
	snprintf(path, sizeof(path), "%s/%s", KCHAN_DEV_DIR, name);

	err = chan_create(name, capacity);
	fd = err ? -1 : open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && !err)
		err = -errno;
	ksft_test_result(!err, "%s: create (capacity %u, msg_max %u) and open\n",
			 label, capacity, msg_max);
	if (err) {
		ksft_print_msg("%s: %s\n", name, strerror(-err));
		chan_destroy(name);
		name[0] = '\0';
		for (i = 0; i < 4; i++)
			ksft_test_result_skip("%s: no channel\n", label);
		return;
	}

	memset(sh, 0, sh_size);
	for (i = 0; i < nw + nr; i++)
		pids[i] = -1;
	sh->nworkers = nw + nr;
	start = now_ns();
	sh->deadline_ns = start + (uint64_t)duration * 1000000000ULL;
	fflush(stdout);
	for (i = 0; i < nw + nr; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			worker_start(self, i);
			close(fd);
			if (i < nw)
				writer(path, i);
			reader(path, i - nw);
		}
		pids[i] = pid;
		sh->worker_pid[i] = pid > 0 ? pid : 0;
		if (pid < 0) {
			ksft_perror("fork");
			sh->errors++;
			break;
		}
	}
	chaos_pid = fork();
	if (chaos_pid == 0) {
		worker_start(self, 1000);
		chaos();
	}

	/* Writers: done by the deadline, plus slack for a TCG guest. */
	w_ok = wait_exited(pids, nw, sh->deadline_ns + 20000000000ULL);
	close_err = ioctl(fd, KCHAN_IOC_CLOSE) ? -errno : 0;
	if (w_ok >= 0)
		r_ok = wait_exited(pids + nw, nr, now_ns() + 20000000000ULL);
	elapsed = now_ns() - start;

	__atomic_store_n(&sh->chaos_stop, 1, __ATOMIC_RELEASE);
	if (w_ok < 0 || r_ok < 0) {
		ksft_print_msg("%s: %s still running after the deadline: killing them\n",
			       label, w_ok < 0 ? "writers" : "readers");
		for (i = 0; i < nw + nr; i++)
			if (pids[i] > 0)
				kill(pids[i], SIGKILL);
	}
	if (chaos_pid > 0)
		waitpid(chaos_pid, NULL, 0);
	chaos_pid = -1;
	for (i = 0; i < nw + nr; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);

	for (i = 0; i < nw; i++) {
		struct worker_stats *s = &sh->stats[i];

		total += sh->sent[i];
		wsum.eintr += s->eintr; wsum.eagain += s->eagain;
		wsum.emsgsize += s->emsgsize; wsum.flips += s->flips;
		wsum.signals += s->signals;
	}
	for (i = 0; i < nr; i++) {
		struct worker_stats *s = &sh->stats[nw + i];

		received += s->msgs;
		rsum.eintr += s->eintr; rsum.eagain += s->eagain;
		rsum.emsgsize += s->emsgsize; rsum.flips += s->flips;
		rsum.signals += s->signals;
	}
	ksft_print_msg("%s: %llu messages in %.1f s (%.0f/s); %llu signals sent\n", label,
		       (unsigned long long)total, elapsed / 1e9, total / (elapsed / 1e9),
		       (unsigned long long)sh->signals_sent);
	ksft_print_msg("%s: writers: %llu signals, %llu EINTR, %llu EAGAIN, %llu EMSGSIZE, %llu O_NONBLOCK flips\n",
		       label, (unsigned long long)wsum.signals, (unsigned long long)wsum.eintr,
		       (unsigned long long)wsum.eagain, (unsigned long long)wsum.emsgsize,
		       (unsigned long long)wsum.flips);
	ksft_print_msg("%s: readers: %llu signals, %llu EINTR, %llu EAGAIN, %llu EMSGSIZE, %llu O_NONBLOCK flips\n",
		       label, (unsigned long long)rsum.signals, (unsigned long long)rsum.eintr,
		       (unsigned long long)rsum.eagain, (unsigned long long)rsum.emsgsize,
		       (unsigned long long)rsum.flips);
	if (total < (uint64_t)nw * nmsgs)
		ksft_print_msg("%s: the %u s cap stopped the writers at %llu of %llu messages\n",
			       label, duration, (unsigned long long)total,
			       (unsigned long long)nw * nmsgs);

	traffic_ok = w_ok == (int)nw && r_ok == (int)nr;
	ksft_test_result(traffic_ok,
			 "%s: %u writers and %u readers with SIGUSR1 and O_NONBLOCK flips ran to completion\n",
			 label, nw, nr);

	/* Every sent message exactly once, nothing unsent, intact, in order. */
	for (i = 0; i < nw; i++) {
		uint32_t seq;

		if (sh->tiny_received[i] != sh->tiny_sent[i]) {
			ksft_print_msg("%s: writer %u: %llu messages of 1-4 bytes sent, %llu received\n",
				       label, i, (unsigned long long)sh->tiny_sent[i],
				       (unsigned long long)sh->tiny_received[i]);
			if (sh->tiny_received[i] < sh->tiny_sent[i])
				missing += sh->tiny_sent[i] - sh->tiny_received[i];
			else
				extra += sh->tiny_received[i] - sh->tiny_sent[i];
		}
		for (seq = 0; seq < nmsgs; seq++) {
			uint8_t n = sh->seen[(size_t)i * nmsgs + seq];

			if (msg_len(i, seq) < MSG_ID_LEN)
				continue;	/* counted above */
			if (seq < sh->sent[i] && n == 0) {
				if (missing++ < MAX_REPORTS)
					ksft_print_msg("%s: (%u, %u) sent but never received\n",
						       label, i, seq);
			} else if (seq >= sh->sent[i] && n) {
				if (extra++ < MAX_REPORTS)
					ksft_print_msg("%s: (%u, %u) received but its write did not succeed\n",
						       label, i, seq);
			}
		}
	}
	if (received != total)
		ksft_print_msg("%s: %llu received, %llu sent\n", label,
			       (unsigned long long)received, (unsigned long long)total);
	ksft_test_result(traffic_ok && !sh->errors && !missing && !extra && received == total,
			 "%s: each of %llu messages received once, intact, in per-writer order (%d errors, %llu lost, %llu unsent but received)\n",
			 label, (unsigned long long)total, sh->errors,
			 (unsigned long long)missing, (unsigned long long)extra);

	/* Closed and drained: len 0, every message in and out once. */
	err = chan_info(fd, &info);
	if (err)
		ksft_print_msg("%s: KCHAN_IOC_INFO: %s\n", label, strerror(-err));
	else
		ksft_print_msg("%s: info: state %#x cap %u len %u msg_max %u readers %u writers %u sent %llu received %llu\n",
			       label, info.state, info.capacity, info.length, info.msg_max,
			       info.readers, info.writers, (unsigned long long)info.sent,
			       (unsigned long long)info.received);
	if (close_err)
		ksft_print_msg("%s: KCHAN_IOC_CLOSE: %s\n", label, strerror(-close_err));
	{
		long long s_len = fdinfo_attr(fd, "length");
		long long s_sent = fdinfo_attr(fd, "sent");
		long long s_recv = fdinfo_attr(fd, "received");
		long long s_closed = fdinfo_attr(fd, "closed");
		long long s_readers = fdinfo_attr(fd, "readers");
		long long s_writers = fdinfo_attr(fd, "writers");
		int ok = !close_err && !err && r_ok == (int)nr &&
			(info.state & KCHAN_STATE_CLOSED) && info.length == 0 &&
			info.capacity == capacity && info.msg_max == msg_max &&
			info.sent == total && info.received == total &&
			info.readers == 0 && info.writers == 1 &&
			s_len == 0 && s_sent == (long long)total &&
			s_recv == (long long)total && s_closed == 1 &&
			s_readers == 0 && s_writers == 1;

		if (!ok)
			ksft_print_msg("%s: fdinfo: closed %lld length %lld sent %lld received %lld readers %lld writers %lld\n",
				       label, s_closed, s_len, s_sent, s_recv, s_readers, s_writers);
		ksft_test_result(ok,
				 "%s: close: readers drained to EOF; len 0, sent == received == %llu (ioctl and fdinfo)\n",
				 label, (unsigned long long)total);
	}

	/* Destroy: the open fd sees a destroyed channel, the names are gone. */
	{
		int destroy_err = chan_destroy(name);
		int info_err = chan_info(fd, &info);
		ssize_t wr = write(fd, "x", 1);
		int wr_errno = errno;
		long long s_destroyed = fdinfo_attr(fd, "destroyed");
		int in_dir = listed(name);
		int ok;

		close(fd);
		ok = !destroy_err && !info_err && (info.state & KCHAN_STATE_DESTROYED) &&
			wr < 0 && wr_errno == ENODEV && s_destroyed == 1 &&
			stat(path, &st) && errno == ENOENT && !in_dir;
		if (!ok)
			ksft_print_msg("%s: destroy: %s; info after: %s, state %#x; fdinfo destroyed %lld; write: %zd %s; node %s; %s readdir\n",
				       label, strerror(-destroy_err), strerror(-info_err),
				       info.state, s_destroyed, wr, strerror(wr_errno),
				       access(path, F_OK) ? "gone" : "still there",
				       in_dir ? "still in" : "not in");
		ksft_test_result(ok, "%s: destroy: open fd gets ENODEV, node and directory entry gone\n",
				 label);
		name[0] = '\0';
	}
}

/* ---------------------------------------------------------------------- */

/* Unload and reload the module: nothing may still hold it. */
static void module_cycle(void)
{
	const char *ko = getenv("KCHAN_KO");
	struct timespec tick = { 0, 100000000 };
	int busy_errno = 0, unload_err = 0, load_err = 0, tries, kofd, fd, mounts;
	char name[KCHAN_NAME_MAX];

	if (!ko || !*ko) {
		ksft_test_result_skip("rmmod and insmod: KCHAN_KO is not set\n");
		return;
	}
	if (geteuid() != 0) {
		ksft_test_result_skip("rmmod and insmod: not root\n");
		return;
	}
	/* While /dev/chan is mounted, the module must not go away. */
	if (syscall(SYS_delete_module, "kchan", O_NONBLOCK) == 0) {
		ksft_print_msg("rmmod succeeded with %s mounted\n", KCHAN_DEV_DIR);
		busy_errno = -1;
		goto load;	/* it is already out */
	}
	/* delete_module() says EWOULDBLOCK (EAGAIN) for a module in use. */
	ksft_print_msg("rmmod with %s mounted: %s\n", KCHAN_DEV_DIR, strerror(errno));
	if (errno != EAGAIN)
		busy_errno = errno;
	/* Nor while a control fd of the unmounted instance is open. */
	mounts = umount_all();
	if (mounts != 1) {
		ksft_print_msg("unmounting every kchan instance: %d (want 1: %s)\n",
			       mounts, mounts < 0 ? strerror(-mounts) : "one mount");
		if (!busy_errno)
			busy_errno = mounts < 0 ? -mounts : EINVAL;
	}
	if (syscall(SYS_delete_module, "kchan", O_NONBLOCK) == 0) {
		ksft_print_msg("rmmod succeeded with %s open (unmounted)\n", KCHAN_CONTROL_PATH);
		busy_errno = -1;
	} else {
		ksft_print_msg("rmmod with a control fd open: %s\n", strerror(errno));
		if (errno != EAGAIN && !busy_errno)
			busy_errno = errno;
	}
	close(control_fd);
	control_fd = -1;
	if (busy_errno == -1)
		goto load;	/* it is already out */
	for (tries = 0; tries < 20; tries++) {
		unload_err = syscall(SYS_delete_module, "kchan", O_NONBLOCK) ? errno : 0;
		if (unload_err != EAGAIN && unload_err != EBUSY)
			break;
		nanosleep(&tick, NULL);
	}
	if (unload_err)
		ksft_print_msg("rmmod kchan: %s\n", strerror(unload_err));
load:
	if (access("/sys/module/kchan", F_OK) == 0 && !unload_err) {
		ksft_print_msg("rmmod kchan succeeded but /sys/module/kchan remains\n");
		unload_err = EEXIST;
	}
	if (access(KCHAN_CONTROL_PATH, F_OK) == 0 && !unload_err) {
		ksft_print_msg("rmmod kchan succeeded but %s remains\n", KCHAN_CONTROL_PATH);
		unload_err = EEXIST;
	}
	if (access("/sys/module/kchan", F_OK)) {
		kofd = open(ko, O_RDONLY | O_CLOEXEC);
		load_err = kofd < 0 || syscall(SYS_finit_module, kofd, "", 0) ? errno : 0;
		if (kofd >= 0)
			close(kofd);
		if (load_err)
			ksft_print_msg("insmod %s: %s\n", ko, strerror(load_err));
	}
	/* As the guest runner does: the instance on /dev/chan. */
	if (!load_err && access(KCHAN_CONTROL_PATH, F_OK) &&
	    mount(KCHAN_FS_TYPE, KCHAN_DEV_DIR, KCHAN_FS_TYPE, 0, NULL)) {
		load_err = errno;
		ksft_print_msg("mount -t %s %s: %s\n", KCHAN_FS_TYPE, KCHAN_DEV_DIR, strerror(errno));
	}
	/* Back in working order: a channel can be made and unmade. */
	control_fd = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	snprintf(name, sizeof(name), "stress-%d-reload", (int)getpid());
	fd = control_fd < 0 ? -errno : chan_create(name, 0);
	if (fd == 0)
		fd = chan_destroy(name);
	if (fd)
		ksft_print_msg("after insmod: %s\n", strerror(-fd));
	ksft_test_result(!busy_errno && !unload_err && !load_err && !fd,
			 "rmmod refused while mounted and while a control fd is open, then rmmod, insmod $KCHAN_KO and mount work\n");
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: chan_stress [-w W] [-r R] [-n MSGS] [-d SECS] [-m MSG_MAX] [-c CAP] [-t SECS] [-i USECS] [-s SEED]\n"
		"  -w W        writer processes (default 4, at most %d)\n"
		"  -r R        reader processes (default 4, at most %d)\n"
		"  -n MSGS     messages per writer (default 20000)\n"
		"  -d SECS     per channel, writers start no message after this (default 20)\n"
		"  -m MSG_MAX  msg_max of the channels, %u..65536 (default 1024)\n"
		"  -c CAP      capacity of the buffered channel (default 8)\n"
		"  -t SECS     global timeout: kill everything and fail (default 2*d+40)\n"
		"  -i USECS    longest pause between two SIGUSR1s (default 1000)\n"
		"  -s SEED     random seed (default: from the clock; printed)\n"
		"As root with KCHAN_KO=<path of kchan.ko>, also rmmod and insmod kchan.\n",
		MAX_WRITERS, MAX_READERS, MSG_MAX_MIN);
}

static unsigned int parse_arg(int opt, const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < min || v > max) {
		fprintf(stderr, "chan_stress: -%c: invalid value '%s' (%lu..%lu)\n",
			opt, s, min, max);
		usage(stderr);
		exit(KSFT_FAIL);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	int opt, baseline, now;

	seed = now_ns() ^ ((uint64_t)getpid() << 32);
	while ((opt = getopt(argc, argv, "w:r:n:d:m:c:t:i:s:h")) != -1) {
		switch (opt) {
		case 'w': nwriters = parse_arg(opt, optarg, 1, MAX_WRITERS); break;
		case 'r': nreaders = parse_arg(opt, optarg, 1, MAX_READERS); break;
		case 'n': nmsgs = parse_arg(opt, optarg, 1, 10000000); break;
		case 'd': duration = parse_arg(opt, optarg, 1, 3600); break;
		case 'm': msg_max = parse_arg(opt, optarg, MSG_MAX_MIN, 65536); break;
		case 'c': buffered_capacity = parse_arg(opt, optarg, 1, 65536); break;
		case 't': timeout = parse_arg(opt, optarg, 1, 86400); break;
		case 'i': chaos_gap_us = parse_arg(opt, optarg, 1, 999999); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return KSFT_FAIL;
		}
	}
	if (!timeout)
		timeout = 2 * duration + 40;

	ksft_print_header();
	control_fd = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (control_fd < 0)
		ksft_exit_skip("%s: %s (is kchan loaded?)\n", KCHAN_CONTROL_PATH, strerror(errno));
	ksft_set_plan(12);
	ksft_print_msg("chan_stress -w %u -r %u -n %u -d %u -m %u -c %u -t %u -i %u -s %llu\n",
		       nwriters, nreaders, nmsgs, duration, msg_max, buffered_capacity,
		       timeout, chaos_gap_us, (unsigned long long)seed);

	sh_size = sizeof(*sh) + (size_t)nwriters * nmsgs;
	sh = mmap(NULL, sh_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ksft_exit_fail_msg("mmap %zu bytes: %s\n", sh_size, strerror(errno));

	/* Inherited by every worker: interrupt, don't restart. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(timeout);

	baseline = count_channels();
	run_channel(0, "buffered", buffered_capacity);
	run_channel(1, "unbuffered", 0);

	now = count_channels();
	ksft_test_result(baseline >= 0 && now == baseline,
			 "no channel left behind (%d before, %d after)\n", baseline, now);
	module_cycle();

	alarm(0);
	if (control_fd >= 0)
		close(control_fd);
	if (ksft_get_fail_cnt())
		ksft_exit_fail();
	ksft_exit_pass();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Channel creation: --channels (10,000) idle channels created through
 * the control node /dev/chan/.control, then destroyed, per round.  The
 * rates are per channel; the memory is the growth of the kernel's slab
 * while they exist, divided by their number, two ways:
 *   /proc/meminfo Slab:   pages the slab allocator holds (what the machine
 *                         pays, fragmentation included);
 *   /proc/slabinfo        active objects x object size, per cache, which
 *                         also says where the memory goes.
 * Channels are unbuffered with msg_max 64, so they own no message buffer.
 * Then, per round, as many anonymous channels (KCHAN_IOC_MAKE, then close
 * of its fd) beside as many pipes (pipe2(), then close of both ends), the
 * two rates side by side; and the slab growth per anonymous channel while
 * that many are held open (when RLIMIT_NOFILE can be raised that far).
 * The instance's limits (the mount options max, max_user, max_user_bytes
 * of /dev/chan) are raised by a remount for the test and put back
 * afterwards, also when the program dies of a signal.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include <linux/kchan.h>

#include "kchanbench.h"

#define MAX_CACHES	512

int kchan_make(const char *name, unsigned int capacity, unsigned int msg_max)
{
	struct kchan_create req;

	if (ctl_fd < 0)
		return -ENODEV;
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.capacity = capacity;
	req.msg_max = msg_max;
	req.mode = 0600;
	strncpy(req.name, name, sizeof(req.name) - 1);
	return ioctl(ctl_fd, KCHAN_IOC_CREATE, &req) ? -errno : 0;
}

/* An anonymous channel (KCHAN_IOC_MAKE): its fd, or -errno. */
int kchan_make_anon(unsigned int capacity, unsigned int msg_max)
{
	struct kchan_create req;
	int fd;

	if (ctl_fd < 0)
		return -ENODEV;
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.capacity = capacity;
	req.msg_max = msg_max;
	req.flags = KCHAN_MAKE_CLOEXEC;
	fd = ioctl(ctl_fd, KCHAN_IOC_MAKE, &req);
	return fd < 0 ? -errno : fd;
}

int kchan_unmake(const char *name)
{
	struct kchan_name req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	strncpy(req.name, name, sizeof(req.name) - 1);
	return ioctl(ctl_fd, KCHAN_IOC_DESTROY, &req) ? -errno : 0;
}

/* ----- the instance's limits: /dev/chan's mount options ------------------- */

/* The remount that puts them back, made before they change (for a signal handler). */
static char saved_opts[160];
static unsigned long saved_flags;
static int limits_raised;

/* The mount flags a remount must pass again (MS_REMOUNT alone resets them). */
static unsigned long mount_flags(const char *dir)
{
	static const struct { unsigned long st, ms; } keep[] = {
		{ ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID }, { 4, MS_NODEV },
		{ 8, MS_NOEXEC }, { 16, MS_SYNCHRONOUS }, { 1024, MS_NOATIME },
		{ 2048, MS_NODIRATIME }, { 4096, MS_RELATIME },	/* ST_* as in <sys/statvfs.h> */
	};
	unsigned long flags = 0;
	struct statvfs sv;
	unsigned int i;

	if (statvfs(dir, &sv))
		return 0;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (sv.f_flag & keep[i].st)
			flags |= keep[i].ms;
	return flags;
}

/* max, max_user, max_user_bytes of the kchan mount on /dev/chan: 0 or -errno. */
static int limits_read(unsigned long long v[3])
{
	static const char *const keys[3] = { "max=", "max_user=", "max_user_bytes=" };
	char line[4096];
	int found = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mp[256], type[32], *sep = strstr(line, " - "), *o;
		unsigned int i;

		if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", mp) != 1 ||
		    sscanf(sep, " - %31s", type) != 1 ||
		    strcmp(mp, KCHAN_DEV_DIR) || strcmp(type, KCHAN_FS_TYPE))
			continue;
		found = 0;
		/* the super options: ... - kchan <source> rw,max=..,max_user=..,max_user_bytes=.. */
		for (o = strtok(sep + 3, " ,\n"); o; o = strtok(NULL, " ,\n"))
			for (i = 0; i < 3; i++)
				if (!strncmp(o, keys[i], strlen(keys[i]))) {
					v[i] = strtoull(o + strlen(keys[i]), NULL, 10);
					found |= 1 << i;
				}
	}
	fclose(f);
	return found == 7 ? 0 : -ENOENT;
}

/* Async-signal-safe: one mount(2) of what was saved. */
void create_restore_limits(void)
{
	if (limits_raised) {
		mount(KCHAN_FS_TYPE, KCHAN_DEV_DIR, NULL, MS_REMOUNT | saved_flags, saved_opts);
		limits_raised = 0;
	}
}

static void restore_and_die(int sig)
{
	create_restore_limits();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Room for @need channels of one user, msg_max 64 each: 0 or -errno. */
static int raise_limits(unsigned int need)
{
	unsigned long long v[3], want[3] = { need + 64ULL, need + 64ULL, (need + 64ULL) * 64 };
	char want_opts[160];
	int ret = limits_read(v), i, raise = 0;

	if (ret)
		return ret;
	for (i = 0; i < 3; i++) {
		if (v[i] < want[i])
			raise = 1;
		else
			want[i] = v[i];
	}
	if (!raise)
		return 0;
	saved_flags = mount_flags(KCHAN_DEV_DIR);
	snprintf(saved_opts, sizeof(saved_opts), "max=%llu,max_user=%llu,max_user_bytes=%llu",
		 v[0], v[1], v[2]);
	snprintf(want_opts, sizeof(want_opts), "max=%llu,max_user=%llu,max_user_bytes=%llu",
		 want[0], want[1], want[2]);
	signal(SIGINT, restore_and_die);
	signal(SIGTERM, restore_and_die);
	limits_raised = 1;
	if (mount(KCHAN_FS_TYPE, KCHAN_DEV_DIR, NULL, MS_REMOUNT | saved_flags, want_opts)) {
		ret = -errno;
		limits_raised = 0;
		return ret;
	}
	return 0;
}

/* ----- slab counters ---------------------------------------------------- */

struct slab_cache {
	char name[48];
	double obj_bytes;	/* active_objs * objsize */
};

struct slab_snap {
	long meminfo_kb;	/* /proc/meminfo Slab: */
	double obj_bytes;	/* sum over /proc/slabinfo */
	int n;
	struct slab_cache c[MAX_CACHES];
};

static long meminfo_slab_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void slab_snapshot(struct slab_snap *s)
{
	char line[512];
	FILE *f;

	memset(s, 0, sizeof(*s));
	s->meminfo_kb = meminfo_slab_kb();
	f = fopen("/proc/slabinfo", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && s->n < MAX_CACHES) {
		struct slab_cache *c = &s->c[s->n];
		unsigned long active, total, size;

		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%47s %lu %lu %lu", c->name, &active, &total, &size) != 4)
			continue;
		c->obj_bytes = (double)active * size;
		s->obj_bytes += c->obj_bytes;
		s->n++;
	}
	fclose(f);
}

/* The caches that grew the most between @a and @b, per channel, as text. */
static void slab_top(const struct slab_snap *a, const struct slab_snap *b,
		     unsigned int count, char *out, size_t len)
{
	double grow[MAX_CACHES];
	int i, j, k, used = 0;

	for (i = 0; i < b->n; i++) {
		grow[i] = b->c[i].obj_bytes;
		for (j = 0; j < a->n; j++)
			if (!strcmp(a->c[j].name, b->c[i].name)) {
				grow[i] -= a->c[j].obj_bytes;
				break;
			}
	}
	out[0] = '\0';
	for (k = 0; k < 6; k++) {
		int best = -1;

		for (i = 0; i < b->n; i++)
			if (grow[i] > 0 && (best < 0 || grow[i] > grow[best]))
				best = i;
		if (best < 0 || grow[best] / count < 8)
			break;
		used += snprintf(out + used, len > (size_t)used ? len - used : 0,
				 "%s%s %.0f B", k ? ", " : "", b->c[best].name,
				 grow[best] / count);
		grow[best] = 0;
	}
}

/* ----- the test ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void min_max(const double *v, int n, double *lo, double *hi)
{
	double s[BENCH_MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	*lo = s[0];
	*hi = s[n - 1];
}

void create_bench(struct create_result *r)
{
	unsigned int N = opts.channels, i, made;
	struct slab_snap *before = malloc(sizeof(*before));
	struct slab_snap *after = malloc(sizeof(*after));
	char name[KCHAN_NAME_MAX];
	int64_t t0, t1, t2, t3;
	struct rlimit nofile;
	int round, ret = 0;
	int *fds = NULL;

	memset(r, 0, sizeof(*r));
	r->channels = N;
	if (!before || !after)
		die("out of memory");
	ret = raise_limits(N);
	if (ret) {
		r->failed = 1;
		snprintf(r->err, sizeof(r->err), "cannot raise the limits of %s (remount max=, max_user=): %s",
			 KCHAN_DEV_DIR, strerror(-ret));
		goto out;
	}
	/* Room for N anonymous channels held open at once. */
	fds = calloc(N, sizeof(*fds));
	if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur < N + 256) {
		nofile.rlim_cur = N + 256;
		if (nofile.rlim_max < nofile.rlim_cur)
			nofile.rlim_max = nofile.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &nofile)) {
			note("  cannot raise RLIMIT_NOFILE to %u (%s): no memory figure for anonymous channels",
			     N + 256, strerror(errno));
			free(fds);
			fds = NULL;
		}
	}

	for (round = 0; round < opts.create_rounds; round++) {
		/* Let the last round's frees (some go through RCU) land first. */
		usleep(300 * 1000);
		slab_snapshot(before);
		t0 = now_ns();
		for (made = 0; made < N; made++) {
			snprintf(name, sizeof(name), "kc-%d-%d-%u", (int)getpid(), round, made);
			ret = kchan_make(name, 0, 64);
			if (ret)
				break;
		}
		t1 = now_ns();
		slab_snapshot(after);
		t2 = now_ns();
		for (i = 0; i < made; i++) {
			snprintf(name, sizeof(name), "kc-%d-%d-%u", (int)getpid(), round, i);
			kchan_unmake(name);
		}
		t3 = now_ns();
		if (ret) {
			r->failed = 1;
			snprintf(r->err, sizeof(r->err), "create #%u failed: %s", made,
				 strerror(-ret));
			break;
		}
		r->create_rate[round] = N * 1e9 / (t1 - t0);
		r->destroy_rate[round] = N * 1e9 / (t3 - t2);
		r->pair_rate[round] = N * 1e9 / ((t1 - t0) + (t3 - t2));
		r->slab_bytes[round] = (after->meminfo_kb - before->meminfo_kb) * 1024.0 / N;
		r->obj_bytes[round] = (after->obj_bytes - before->obj_bytes) / N;
		if (round == 0)
			slab_top(before, after, N, r->top_caches, sizeof(r->top_caches));
		r->nrounds++;
		note("  create round %d: %.0f create/s, %.0f destroy/s, slab %.0f B/channel",
		     round + 1, r->create_rate[round], r->destroy_rate[round],
		     r->slab_bytes[round]);

		/* Anonymous: MAKE + close, beside pipe2 + close. */
		usleep(300 * 1000);
		t0 = now_ns();
		for (i = 0; i < N; i++) {
			int fd = kchan_make_anon(0, 64);

			if (fd < 0) {
				ret = fd;
				break;
			}
			close(fd);
		}
		t1 = now_ns();
		if (ret) {
			r->failed = 1;
			snprintf(r->err, sizeof(r->err), "KCHAN_IOC_MAKE #%u failed: %s", i,
				 strerror(-ret));
			break;
		}
		for (i = 0; i < N; i++) {
			int p[2];

			if (pipe2(p, O_CLOEXEC)) {
				ret = -errno;
				break;
			}
			close(p[0]);
			close(p[1]);
		}
		t2 = now_ns();
		if (ret) {
			r->failed = 1;
			snprintf(r->err, sizeof(r->err), "pipe2 #%u failed: %s", i, strerror(-ret));
			break;
		}
		r->make_rate[round] = N * 1e9 / (t1 - t0);
		r->pipe_rate[round] = N * 1e9 / (t2 - t1);
		r->make_rounds++;

		/* Anonymous channels held open: their slab. */
		if (fds) {
			usleep(300 * 1000);
			slab_snapshot(before);
			for (made = 0; made < N; made++) {
				fds[made] = kchan_make_anon(0, 64);
				if (fds[made] < 0) {
					ret = fds[made];
					break;
				}
			}
			slab_snapshot(after);
			for (i = 0; i < made; i++)
				close(fds[i]);
			if (ret) {
				r->failed = 1;
				snprintf(r->err, sizeof(r->err), "anonymous channel #%u held: %s",
					 made, strerror(-ret));
				break;
			}
			r->anon_slab_bytes[r->anon_rounds++] =
				(after->meminfo_kb - before->meminfo_kb) * 1024.0 / N;
		}
		note("  anonymous round %d: %.0f MAKE+close/s, %.0f pipe2+close/s%s",
		     round + 1, r->make_rate[round], r->pipe_rate[round],
		     fds ? "" : " (no memory figure)");
	}
	if (r->nrounds) {
		r->create_med = median_of(r->create_rate, r->nrounds);
		r->destroy_med = median_of(r->destroy_rate, r->nrounds);
		r->pair_med = median_of(r->pair_rate, r->nrounds);
		r->slab_med = median_of(r->slab_bytes, r->nrounds);
		r->obj_med = median_of(r->obj_bytes, r->nrounds);
		min_max(r->pair_rate, r->nrounds, &r->pair_min, &r->pair_max);
		min_max(r->slab_bytes, r->nrounds, &r->slab_min, &r->slab_max);
	}
	if (r->make_rounds) {
		r->make_med = median_of(r->make_rate, r->make_rounds);
		r->pipe_med = median_of(r->pipe_rate, r->make_rounds);
		min_max(r->make_rate, r->make_rounds, &r->make_min, &r->make_max);
		min_max(r->pipe_rate, r->make_rounds, &r->pipe_min, &r->pipe_max);
	}
	if (r->anon_rounds) {
		r->anon_slab_med = median_of(r->anon_slab_bytes, r->anon_rounds);
		min_max(r->anon_slab_bytes, r->anon_rounds, &r->anon_slab_min, &r->anon_slab_max);
	}
out:
	free(fds);
	create_restore_limits();
	free(before);
	free(after);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Channel creation: --channels (10,000) idle channels created through
 * /dev/chan-control, then destroyed, per round.  The rates are per
 * channel; the memory is the growth of the kernel's slab while they exist,
 * divided by their number, two ways:
 *   /proc/meminfo Slab:   pages the slab allocator holds (what the machine
 *                         pays, fragmentation included);
 *   /proc/slabinfo        active objects x object size, per cache, which
 *                         also says where the memory goes.
 * Channels are unbuffered with msg_max 64, so they own no message buffer.
 * The module's limits (max_channels, max_user_channels) are raised for the
 * test and put back afterwards, also when the program dies of a signal.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <linux/kchan.h>

#include "kchanbench.h"

#define PARAM_DIR	"/sys/module/kchan/parameters"
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

int kchan_unmake(const char *name)
{
	struct kchan_name req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	strncpy(req.name, name, sizeof(req.name) - 1);
	return ioctl(ctl_fd, KCHAN_IOC_DESTROY, &req) ? -errno : 0;
}

/* ----- module parameters ------------------------------------------------- */

static const char *const limit_names[] = { "max_channels", "max_user_channels" };
static long saved_limit[2] = { -1, -1 };

static long param_read(const char *name)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PARAM_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int param_write(const char *name, long value)
{
	char path[128], buf[32];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), PARAM_DIR "/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%ld\n", value);
	if (write(fd, buf, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/* Async-signal-safe enough: open/write/close only, from saved values. */
void create_restore_limits(void)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (saved_limit[i] >= 0) {
			param_write(limit_names[i], saved_limit[i]);
			saved_limit[i] = -1;
		}
}

static void restore_and_die(int sig)
{
	create_restore_limits();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int raise_limits(unsigned int need)
{
	unsigned int i;
	long cur;
	int ret;

	for (i = 0; i < 2; i++) {
		cur = param_read(limit_names[i]);
		if (cur < 0)
			return -ENOENT;
		if (cur >= (long)need + 64)
			continue;
		saved_limit[i] = cur;
		ret = param_write(limit_names[i], need + 64);
		if (ret)
			return ret;
	}
	signal(SIGINT, restore_and_die);
	signal(SIGTERM, restore_and_die);
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
	int round, ret = 0;

	memset(r, 0, sizeof(*r));
	r->channels = N;
	if (!before || !after)
		die("out of memory");
	ret = raise_limits(N);
	if (ret) {
		r->failed = 1;
		snprintf(r->err, sizeof(r->err), "cannot raise %s/max_channels: %s",
			 PARAM_DIR, strerror(-ret));
		goto out;
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
out:
	create_restore_limits();
	free(before);
	free(after);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Ping-pong, n->m streams and the memcpy ceiling.
 *
 * Placement on the 2 vCPUs: one side on CPU 0, the other on CPU 1 (the
 * pinger and the ponger; writers and readers), the usual layout of IPC
 * benchmarks: every message crosses CPUs, for every transport alike.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kchanbench.h"

struct round_arg {
	struct figure *f;
	struct links *L;
	long iters;
};

static void *msg_buf(size_t size)
{
	void *p;

	if (posix_memalign(&p, 4096, size ? size : 1))
		return NULL;
	memset(p, 0x5a, size);
	return p;
}

int links_setup(struct figure *f)
{
	struct links *L = calloc(1, sizeof(*L));
	int ret;

	if (!L)
		return -ENOMEM;
	L->a.wfd = L->a.rfd = L->b.wfd = L->b.rfd = -1;
	ret = link_open(&L->a, f->t, f->size);
	if (!ret && !strcmp(f->group, "pingpong"))
		ret = link_open(&L->b, f->t, f->size);
	if (ret) {
		link_close(&L->a);
		link_close(&L->b);
		free(L);
		return ret;
	}
	L->sh = round_shared_new();
	f->priv = L;
	return 0;
}

void links_teardown(struct figure *f)
{
	struct links *L = f->priv;

	if (!L)
		return;
	link_close(&L->a);
	link_close(&L->b);
	free(L);
	f->priv = NULL;
}

/* ----- ping-pong: one message there, one back, @iters times ----------- */

static int pinger(struct round_shared *sh, int idx, void *arg)
{
	struct round_arg *ra = arg;
	void *buf = msg_buf(ra->f->size);
	long i;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	proc_start(sh, idx);
	for (i = 0; i < ra->iters && !err; i++) {
		err = link_send(&ra->L->a, buf, ra->L->a.msg);
		if (!err)
			err = link_recv(&ra->L->b, buf, ra->L->b.msg);
	}
	proc_end(sh, idx, i, err);
	return err;
}

static int ponger(struct round_shared *sh, int idx, void *arg)
{
	struct round_arg *ra = arg;
	void *buf = msg_buf(ra->f->size);
	long i;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	proc_start(sh, idx);
	for (i = 0; i < ra->iters && !err; i++) {
		err = link_recv(&ra->L->a, buf, ra->L->a.msg);
		if (!err)
			err = link_send(&ra->L->b, buf, ra->L->b.msg);
	}
	proc_end(sh, idx, i, err);
	return err;
}

double pingpong_round(struct figure *f, long iters)
{
	struct links *L = f->priv;
	struct round_arg ra = { f, L, iters };
	struct proc_spec spec[2] = {
		{ pinger, &ra, 0 },
		{ ponger, &ra, 1 },
	};
	int64_t ns;

	L->sh->total = iters;
	ns = run_procs(L->sh, spec, 2, f->pin);
	if (ns < 0)
		return ns;
	round_done(f, L->sh, ns, iters);
	return (double)ns / iters;
}

/* ----- streams: writers send their share, readers claim and receive ---- */

static int stream_writer(struct round_shared *sh, int idx, void *arg)
{
	struct round_arg *ra = arg;
	int w = ra->f->writers;
	long share = ra->iters / w + (idx < ra->iters % w);
	void *buf = msg_buf(ra->f->size);
	long i;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	proc_start(sh, idx);
	for (i = 0; i < share && !err; i++)
		err = link_send(&ra->L->a, buf, ra->L->a.msg);
	proc_end(sh, idx, i, err);
	return err;
}

static int stream_reader(struct round_shared *sh, int idx, void *arg)
{
	struct round_arg *ra = arg;
	void *buf = msg_buf(ra->f->size);
	long got = 0;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	proc_start(sh, idx);
	while (!err && claim_one(sh)) {
		err = link_recv(&ra->L->a, buf, ra->L->a.msg);
		got++;
	}
	proc_end(sh, idx, got, err);
	return err;
}

double stream_round(struct figure *f, long iters)
{
	struct links *L = f->priv;
	struct round_arg ra = { f, L, iters };
	struct proc_spec spec[BENCH_MAX_PROCS];
	int i, n = 0;
	int64_t ns;

	for (i = 0; i < f->writers; i++)
		spec[n++] = (struct proc_spec){ stream_writer, &ra, 0 };
	for (i = 0; i < f->readers; i++)
		spec[n++] = (struct proc_spec){ stream_reader, &ra, 1 };
	L->sh->total = iters;
	ns = run_procs(L->sh, spec, n, f->pin);
	if (ns < 0)
		return ns;
	round_done(f, L->sh, ns, iters);
	if (f->unit == U_NS_MSG)
		return (double)ns / iters;
	return iters * 1e9 / ns;
}

/* ----- memcpy: the guest's copy bandwidth, in blocks of f->size -------- */

#define MEMCPY_SPAN	(4 << 20)	/* per side: larger than the guest's caches are fast */

struct memcpy_bufs {
	char *src, *dst;
	struct round_shared *sh;
};

int memcpy_setup(struct figure *f)
{
	struct memcpy_bufs *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->src = msg_buf(MEMCPY_SPAN);
	m->dst = msg_buf(MEMCPY_SPAN);
	if (!m->src || !m->dst) {
		free(m->src);
		free(m->dst);
		free(m);
		return -ENOMEM;
	}
	m->sh = round_shared_new();
	f->priv = m;
	return 0;
}

void memcpy_teardown(struct figure *f)
{
	struct memcpy_bufs *m = f->priv;

	if (!m)
		return;
	free(m->src);
	free(m->dst);
	free(m);
	f->priv = NULL;
}

struct memcpy_arg {
	struct memcpy_bufs *m;
	size_t block;
	long iters;
};

static int copier(struct round_shared *sh, int idx, void *arg)
{
	struct memcpy_arg *a = arg;
	size_t off = 0;
	long i;

	proc_start(sh, idx);
	for (i = 0; i < a->iters; i++) {
		memcpy(a->m->dst + off, a->m->src + off, a->block);
		/* The copy must happen: the compiler may not drop or merge it. */
		__asm__ __volatile__("" : : "r"(a->m->dst + off) : "memory");
		off += a->block;
		if (off + a->block > MEMCPY_SPAN)
			off = 0;
	}
	proc_end(sh, idx, i, 0);
	return 0;
}

double memcpy_round(struct figure *f, long iters)
{
	struct memcpy_bufs *m = f->priv;
	struct memcpy_arg a = { m, f->size, iters };
	struct proc_spec spec = { copier, &a, 0 };
	int64_t ns;

	m->sh->total = iters;
	ns = run_procs(m->sh, &spec, 1, f->pin);
	if (ns < 0)
		return ns;
	round_done(f, m->sh, ns, iters);
	return (double)iters * f->size / ns * 1e3;	/* bytes/ns -> MB/s */
}

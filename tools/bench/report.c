// SPDX-License-Identifier: GPL-2.0
/*
 * What a run says: the table (one section per workload and size, a row per
 * transport with its median, its spread over the rounds and its ratio to
 * the section's reference), the goals of the issue with PASS or MISS, the
 * JSON, and the chart's data for tools/bench/chart.gp.
 *
 * A goal's ratio is the ratio of two medians.  The rounds of all figures
 * are interleaved (round 1 of everything, then round 2, ...), so round r of
 * one figure ran next to round r of another; the range of the per-round
 * ratios is printed too, and tells how far host noise moved the ratio.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kchanbench.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median_of(const double *v, int n)
{
	double s[BENCH_MAX_ROUNDS];

	if (n <= 0)
		return NAN;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

void stats_fill(struct figure *f)
{
	int i;

	f->median = median_of(f->v, f->nrounds);
	f->csw_med = median_of(f->csw, f->nrounds);
	f->cpu_med = median_of(f->cpu, f->nrounds);
	f->min = f->max = f->nrounds ? f->v[0] : NAN;
	for (i = 1; i < f->nrounds; i++) {
		if (f->v[i] < f->min)
			f->min = f->v[i];
		if (f->v[i] > f->max)
			f->max = f->v[i];
	}
}

struct figure *figure_find(struct figure *figs, int n, const char *id)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(figs[i].id, id))
			return figs[i].nrounds && !figs[i].failed ? &figs[i] : NULL;
	return NULL;
}

const char *unit_name(enum unit u)
{
	switch (u) {
	case U_NS_RTT:
		return "ns/round-trip";
	case U_MSGS:
		return "msgs/s";
	case U_NS_MSG:
		return "ns/msg";
	case U_MBS:
		return "MB/s";
	case U_OPS:
		return "ops/s";
	default:
		return "bytes";
	}
}

/* Messages per second of a figure, whatever its unit. */
static double msgs_per_s(const struct figure *f, double v)
{
	switch (f->unit) {
	case U_MSGS:
		return v;
	case U_NS_MSG:
	case U_NS_RTT:
		return 1e9 / v;
	case U_MBS:
		return f->size ? v * 1e6 / f->size : NAN;
	default:
		return NAN;
	}
}

static double mb_per_s(const struct figure *f, double v)
{
	return f->unit == U_MBS ? v : msgs_per_s(f, v) * f->size / 1e6;
}

static void fmt_num(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v >= 1e7)
		snprintf(buf, len, "%.3gM", v / 1e6);
	else if (v >= 1e5)
		snprintf(buf, len, "%.0fk", v / 1e3);
	else if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.3g", v);
}

/* ----- the table ---------------------------------------------------------- */

struct section {
	const char *group;
	size_t size;
	const char *title;
	const char *ref;	/* reference figure id for the ratio column */
	const char *extra;	/* header of the derived column */
	const char *vs;		/* header of the ratio column */
};

static const struct section sections[] = {
	{ "memcpy", 4096, "memcpy, 4 KiB blocks over 4 MiB (the copy ceiling)", NULL, "", "" },
	{ "pingpong", 64, "ping-pong round trip, 64 B (lower is better)", "pingpong.64.pipe",
	  "us", "vs pipe" },
	{ "pingpong", 4096, "ping-pong round trip, 4 KiB", "pingpong.4096.pipe", "us", "vs pipe" },
	{ "stream", 64, "1->1 stream, 64 B", "stream.64.pipe", "MB/s", "vs pipe" },
	{ "stream", 4096, "1->1 stream, 4 KiB", "stream.4096.pipe", "MB/s", "vs pipe" },
	{ "stream", 65536, "1->1 stream, 64 KiB", "stream.65536.pipe", "MB/s", "vs pipe" },
	{ "m2m", 64, "4->4 many-to-many, 64 B (per-message cost, lower is better)", NULL,
	  "1->1 ns", "vs 1->1" },
	{ "batch", 64, "batched 1->1 stream, 64 B (vs the pipe 1->1 stream, one message per call)",
	  "stream.64.pipe", "MB/s", "vs pipe" },
	{ "batch", 4096, "batched 1->1 stream, 4 KiB (vs the guest's memcpy)",
	  "memcpy.4096.memcpy", "MB/s", "vs memcpy" },
};

#define ROW_FMT	"  %-15s %9s %-17s %9s  %-9s %5s %7s"

static void print_row(FILE *out, struct figure *figs, int n, struct figure *f,
		      const struct section *s)
{
	char med[32], lo[32], hi[32], range[80], extra[32] = "", ratio[32] = "";
	char csw[16], cpu[16];
	struct figure *ref = NULL;

	if (f->failed || !f->nrounds) {
		fprintf(out, "  %-15s FAILED: %s\n", f->label, f->err);
		return;
	}
	fmt_num(med, sizeof(med), f->median);
	fmt_num(lo, sizeof(lo), f->min);
	fmt_num(hi, sizeof(hi), f->max);
	snprintf(range, sizeof(range), "[%s..%s]", lo, hi);
	if (f->unit == U_MSGS && f->size)
		snprintf(extra, sizeof(extra), "%.1f", mb_per_s(f, f->median));
	else if (f->unit == U_NS_RTT)
		snprintf(extra, sizeof(extra), "%.1f", f->median / 1e3);

	if (!strcmp(s->group, "m2m")) {
		char id[96];

		snprintf(id, sizeof(id), "stream.64.%s", transport_name[f->t]);
		ref = figure_find(figs, n, id);
		if (ref) {
			double one = 1e9 / ref->median;

			snprintf(extra, sizeof(extra), "%.0f", one);
			snprintf(ratio, sizeof(ratio), "%.2fx", f->median / one);
		}
	} else if (s->ref && (ref = figure_find(figs, n, s->ref)) && ref != f) {
		if (!strcmp(s->ref, "memcpy.4096.memcpy"))
			snprintf(ratio, sizeof(ratio), "%.1f%%",
				 100 * mb_per_s(f, f->median) / ref->median);
		else if (!strcmp(s->group, "batch"))
			snprintf(ratio, sizeof(ratio), "%.2fx",
				 msgs_per_s(f, f->median) / msgs_per_s(ref, ref->median));
		else
			snprintf(ratio, sizeof(ratio), "%.2fx", f->median / ref->median);
	}
	snprintf(csw, sizeof(csw), "%.1f", f->csw_med);
	snprintf(cpu, sizeof(cpu), "%.1f", f->cpu_med / 1e3);
	fprintf(out, ROW_FMT, f->label, med, range, extra, ratio, csw, cpu);
	if (f->calls_per_round)
		fprintf(out, "  %.1f msgs/call",
			(double)f->ops_per_round / f->calls_per_round);
	if (f->mode == B_URING && !strcmp(f->group, "batch"))
		fprintf(out, ", iou-wrk %d", f->iou_workers);
	fputc('\n', out);
}

static const char *placement(const struct figure *f)
{
	if (!strcmp(f->group, "memcpy"))
		return "one process on CPU 0";
	if (f->pin == PIN_SAME)
		return "every process on CPU 0";
	if (f->pin == PIN_SPLIT)
		return "senders on CPU 0, receivers on CPU 1";
	return "not pinned";
}

void report_table(FILE *out, struct figure *figs, int n,
		  const struct create_result *cr)
{
	unsigned int s;
	int i, any;

	fprintf(out, "Medians of the rounds, [min..max] over them.  csw: context switches and\n"
		"cpu us: CPU time (user+system) of all the round's processes, per message\n"
		"(per round trip for ping-pong).\n");
	for (s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		any = 0;
		for (i = 0; i < n; i++) {
			struct figure *f = &figs[i];

			if (strcmp(f->group, sections[s].group) || f->size != sections[s].size)
				continue;
			if (!f->nrounds && !f->failed)
				continue;	/* not selected */
			if (!any++) {
				fprintf(out, "\n%s; %s\n", sections[s].title, placement(f));
				fprintf(out, ROW_FMT "\n", "transport",
					f->unit == U_NS_RTT ? "ns/RTT" : unit_name(f->unit),
					"[min..max]", sections[s].extra, sections[s].vs,
					"csw", "cpu us");
			}
			print_row(out, figs, n, f, &sections[s]);
		}
		for (i = 0; any && i < n; i++)
			if (!strcmp(figs[i].group, sections[s].group) &&
			    figs[i].size == sections[s].size && figs[i].note &&
			    (figs[i].nrounds || figs[i].failed))
				fprintf(out, "  (%s: %s)\n", figs[i].label, figs[i].note);
	}
	if (cr && (cr->nrounds || cr->failed)) {
		fprintf(out, "\ncreating and destroying %u idle channels (unbuffered, msg_max 64), %d rounds\n",
			cr->channels, cr->nrounds);
		if (cr->failed)
			fprintf(out, "  FAILED: %s\n", cr->err);
		if (cr->nrounds) {
			fprintf(out, "  create %.0f/s, destroy %.0f/s, create+destroy %.0f/s [%.0f..%.0f]\n",
				cr->create_med, cr->destroy_med, cr->pair_med,
				cr->pair_min, cr->pair_max);
			fprintf(out, "  kernel memory per idle channel: %.0f B of slab pages (meminfo Slab)"
				" [%.0f..%.0f], %.0f B of slab objects (slabinfo)\n",
				cr->slab_med, cr->slab_min, cr->slab_max, cr->obj_med);
			if (cr->top_caches[0])
				fprintf(out, "  largest slab growth per channel: %s\n", cr->top_caches);
		}
		if (cr->make_rounds) {
			fprintf(out, "  anonymous (unbuffered, msg_max 64), beside pipes, %d rounds of %u:\n",
				cr->make_rounds, cr->channels);
			fprintf(out, "    %-22s %10.0f/s [%.0f..%.0f]\n", "KCHAN_IOC_MAKE + close",
				cr->make_med, cr->make_min, cr->make_max);
			fprintf(out, "    %-22s %10.0f/s [%.0f..%.0f]\n", "pipe2 + close",
				cr->pipe_med, cr->pipe_min, cr->pipe_max);
			fprintf(out, "    MAKE + close / pipe2 + close: %.2f\n",
				cr->pipe_med > 0 ? cr->make_med / cr->pipe_med : NAN);
		}
		if (cr->anon_rounds)
			fprintf(out, "  kernel memory per idle anonymous channel (its fd held open): %.0f B of slab pages"
				" (meminfo Slab) [%.0f..%.0f]\n",
				cr->anon_slab_med, cr->anon_slab_min, cr->anon_slab_max);
	}
}

/* ----- goals ------------------------------------------------------------- */

struct goal {
	const char *id;
	const char *text;
	double value;		/* the ratio (or figure) achieved */
	double target;
	int at_most;		/* pass if value <= target, else value >= target */
	double lo, hi;		/* per-round range of the ratio */
	int known;
};

#define MAX_GOALS	16
static struct goal goals[MAX_GOALS];
static int ngoals;

typedef double (*conv_fn)(const struct figure *f, double v);

static double as_is(const struct figure *f, double v)
{
	(void)f;
	return v;
}

static double ns_per_msg(const struct figure *f, double v)
{
	return 1e9 / msgs_per_s(f, v);
}

/*
 * conv(a)/conv(b) of the medians, and the range of the per-round ratios;
 * conv puts both figures in one unit (msgs/s, MB/s, ns/msg).
 */
static void goal_ratio(struct figure *figs, int n, const char *id, const char *text,
		       const char *a_id, const char *b_id, double target, int at_most,
		       conv_fn conv)
{
	struct figure *a = figure_find(figs, n, a_id), *b = figure_find(figs, n, b_id);
	struct goal *g = &goals[ngoals++];
	int r, rounds;

	memset(g, 0, sizeof(*g));
	g->id = id;
	g->text = text;
	g->target = target;
	g->at_most = at_most;
	if (!a || !b)
		return;
	g->known = 1;
	g->value = conv(a, a->median) / conv(b, b->median);
	g->lo = INFINITY;
	g->hi = -INFINITY;
	rounds = a->nrounds < b->nrounds ? a->nrounds : b->nrounds;
	for (r = 0; r < rounds; r++) {
		double x = conv(a, a->v[r]) / conv(b, b->v[r]);

		g->lo = fmin(g->lo, x);
		g->hi = fmax(g->hi, x);
	}
}

static void goal_value(const char *id, const char *text, double value, double lo,
		       double hi, double target, int at_most, int known)
{
	struct goal *g = &goals[ngoals++];

	memset(g, 0, sizeof(*g));
	g->id = id;
	g->text = text;
	g->value = value;
	g->lo = lo;
	g->hi = hi;
	g->target = target;
	g->at_most = at_most;
	g->known = known;
}

static int goal_pass(const struct goal *g)
{
	return g->known && (g->at_most ? g->value <= g->target : g->value >= g->target);
}

static void goals_compute(struct figure *figs, int n, const struct create_result *cr)
{
	int i, workers = -1;

	ngoals = 0;
	goal_ratio(figs, n, "P1", "unbuffered ping-pong 64 B: round trip vs pipe",
		   "pingpong.64.kchan-unbuf", "pingpong.64.pipe", 0.6, 1, as_is);
	goal_ratio(figs, n, "P2a", "buffered 1->1 stream 64 B: msgs/s vs pipe",
		   "stream.64.kchan-buf", "stream.64.pipe", 1.2, 0, msgs_per_s);
	goal_ratio(figs, n, "P2b", "buffered 1->1 stream 64 B: msgs/s vs mqueue",
		   "stream.64.kchan-buf", "stream.64.mqueue", 2.5, 0, msgs_per_s);
	goal_ratio(figs, n, "P3a", "batch ioctl stream 64 B: msgs/s vs pipe stream",
		   "batch.64.kchan-batch", "stream.64.pipe", 5, 0, msgs_per_s);
	goal_ratio(figs, n, "P3b", "io_uring stream 64 B: msgs/s vs pipe stream",
		   "batch.64.kchan-uring", "stream.64.pipe", 5, 0, msgs_per_s);
	goal_ratio(figs, n, "P3c", "batch ioctl stream 4 KiB: MB/s vs memcpy",
		   "batch.4096.kchan-batch", "memcpy.4096.memcpy", 0.5, 0, mb_per_s);
	goal_ratio(figs, n, "P3d", "io_uring stream 4 KiB: MB/s vs memcpy",
		   "batch.4096.kchan-uring", "memcpy.4096.memcpy", 0.5, 0, mb_per_s);
	goal_ratio(figs, n, "P4a", "4->4 buffered 64 B: per-message cost vs 1->1",
		   "m2m.64.kchan-buf", "stream.64.kchan-buf", 1.5, 1, ns_per_msg);
	goal_ratio(figs, n, "P4b", "4->4 unbuffered 64 B: per-message cost vs 1->1",
		   "m2m.64.kchan-unbuf", "stream.64.kchan-unbuf", 1.5, 1, ns_per_msg);
	goal_value("P6a", "idle channels: kernel memory per channel (bytes)",
		   cr ? cr->slab_med : NAN, cr ? cr->slab_min : NAN,
		   cr ? cr->slab_max : NAN, 1024, 1, cr && cr->nrounds);
	goal_value("P6b", "create+destroy per second",
		   cr ? cr->pair_med : NAN, cr ? cr->pair_min : NAN,
		   cr ? cr->pair_max : NAN, 50000, 0, cr && cr->nrounds);
	goal_value("P6c", "idle anonymous channels: kernel memory per channel (bytes)",
		   cr ? cr->anon_slab_med : NAN, cr ? cr->anon_slab_min : NAN,
		   cr ? cr->anon_slab_max : NAN, 1024, 1, cr && cr->anon_rounds);
	for (i = 0; i < n; i++)
		if (!strcmp(figs[i].group, "batch") && figs[i].mode == B_URING &&
		    figs[i].t == T_KCHAN_BUF && figs[i].nrounds && !figs[i].failed &&
		    figs[i].iou_workers > workers)
			workers = figs[i].iou_workers;
	goal_value("IO", "io_uring on kchan: iou-wrk threads seen", workers,
		   workers, workers, 0, 1, workers >= 0);
}

int report_goals(FILE *out, struct figure *figs, int n, const struct create_result *cr)
{
	int i, miss = 0;

	goals_compute(figs, n, cr);
	fprintf(out, "\ngoals (ratios of medians from this run; [range of per-round ratios])\n");
	for (i = 0; i < ngoals; i++) {
		const struct goal *g = &goals[i];
		char val[32], tgt[32], range[48] = "";
		int ratio = strcmp(g->id, "P6a") && strcmp(g->id, "P6b") && strcmp(g->id, "IO");

		if (ratio) {
			/* Near the target, two decimals could print a miss as the target. */
			snprintf(val, sizeof(val), fabs(g->value / g->target - 1) < 0.01 ?
				 "%.3fx" : "%.2fx", g->value);
			snprintf(tgt, sizeof(tgt), "%s %.2gx", g->at_most ? "<=" : ">=", g->target);
			if (g->known && isfinite(g->lo))
				snprintf(range, sizeof(range), "[%.2f .. %.2f]", g->lo, g->hi);
		} else {
			fmt_num(val, sizeof(val), g->value);
			snprintf(tgt, sizeof(tgt), "%s %.0f", g->at_most ? "<=" : ">=", g->target);
			if (g->known && isfinite(g->lo) && strcmp(g->id, "IO")) {
				char a[16], b[16];

				fmt_num(a, sizeof(a), g->lo);
				fmt_num(b, sizeof(b), g->hi);
				snprintf(range, sizeof(range), "[%s .. %s]", a, b);
			}
		}
		if (!g->known)
			fprintf(out, "  %-4s %-50s %9s  %-9s %-15s  NOT RUN\n", g->id, g->text,
				"-", tgt, "");
		else
			fprintf(out, "  %-4s %-50s %9s  %-9s %-15s  %s\n", g->id, g->text, val,
				tgt, range, goal_pass(g) ? "PASS" : "MISS");
		miss += g->known && !goal_pass(g);
	}
	return miss;
}

/* ----- JSON --------------------------------------------------------------- */

static void json_num(FILE *out, double v)
{
	if (isfinite(v))
		fprintf(out, "%.6g", v);
	else
		fputs("null", out);
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

void report_json(FILE *out, struct figure *figs, int n, const struct create_result *cr)
{
	int i, r, first = 1;

	goals_compute(figs, n, cr);
	fprintf(out, "{\n  \"rounds\": %d, \"round_ms\": %d, \"capacity\": %u, \"batch\": %u, \"cpus\": %d,\n",
		opts.rounds, opts.round_ms, opts.capacity, opts.batch, opts.cpus);
	fprintf(out, "  \"figures\": [\n");
	for (i = 0; i < n; i++) {
		struct figure *f = &figs[i];

		if (!f->nrounds && !f->failed)
			continue;
		fprintf(out, "%s    {\"id\": ", first ? "" : ",\n");
		first = 0;
		json_str(out, f->id);
		fprintf(out, ", \"group\": ");
		json_str(out, f->group);
		fprintf(out, ", \"transport\": ");
		json_str(out, f->label);
		fprintf(out, ", \"size\": %zu, \"writers\": %d, \"readers\": %d, \"unit\": ",
			f->size, f->writers, f->readers);
		json_str(out, unit_name(f->unit));
		fprintf(out, ", \"iterations\": %ld, \"median\": ", f->iters);
		json_num(out, f->median);
		fprintf(out, ", \"min\": ");
		json_num(out, f->min);
		fprintf(out, ", \"max\": ");
		json_num(out, f->max);
		fprintf(out, ", \"msgs_per_s\": ");
		json_num(out, f->nrounds ? msgs_per_s(f, f->median) : NAN);
		fprintf(out, ", \"mb_per_s\": ");
		json_num(out, f->nrounds && f->size ? mb_per_s(f, f->median) : NAN);
		fprintf(out, ", \"placement\": \"%s\", \"csw_per_msg\": ",
			f->pin == PIN_SAME ? "one CPU" : f->pin == PIN_SPLIT ? "split" : "free");
		json_num(out, f->nrounds ? f->csw_med : NAN);
		fprintf(out, ", \"cpu_ns_per_msg\": ");
		json_num(out, f->nrounds ? f->cpu_med : NAN);
		fprintf(out, ", \"rounds\": [");
		for (r = 0; r < f->nrounds; r++) {
			fprintf(out, r ? ", " : "");
			json_num(out, f->v[r]);
		}
		fprintf(out, "]");
		if (f->calls_per_round)
			fprintf(out, ", \"msgs_per_call\": %.2f",
				(double)f->ops_per_round / f->calls_per_round);
		if (f->mode == B_URING && !strcmp(f->group, "batch"))
			fprintf(out, ", \"iou_workers\": %d", f->iou_workers);
		if (f->failed) {
			fprintf(out, ", \"error\": ");
			json_str(out, f->err);
		}
		fprintf(out, "}");
	}
	fprintf(out, "\n  ],\n  \"create\": ");
	if (cr && (cr->nrounds || cr->failed)) {
		fprintf(out, "{\"channels\": %u, \"create_per_s\": ", cr->channels);
		json_num(out, cr->nrounds ? cr->create_med : NAN);
		fprintf(out, ", \"destroy_per_s\": ");
		json_num(out, cr->nrounds ? cr->destroy_med : NAN);
		fprintf(out, ", \"create_destroy_per_s\": ");
		json_num(out, cr->nrounds ? cr->pair_med : NAN);
		fprintf(out, ", \"slab_bytes_per_channel\": ");
		json_num(out, cr->nrounds ? cr->slab_med : NAN);
		fprintf(out, ", \"slab_object_bytes_per_channel\": ");
		json_num(out, cr->nrounds ? cr->obj_med : NAN);
		fprintf(out, ", \"make_close_per_s\": ");
		json_num(out, cr->make_rounds ? cr->make_med : NAN);
		fprintf(out, ", \"pipe2_close_per_s\": ");
		json_num(out, cr->make_rounds ? cr->pipe_med : NAN);
		fprintf(out, ", \"anon_slab_bytes_per_channel\": ");
		json_num(out, cr->anon_rounds ? cr->anon_slab_med : NAN);
		fprintf(out, ", \"slab_rounds\": [");
		for (r = 0; r < cr->nrounds; r++) {
			fprintf(out, r ? ", " : "");
			json_num(out, cr->slab_bytes[r]);
		}
		fprintf(out, "], \"pair_rounds\": [");
		for (r = 0; r < cr->nrounds; r++) {
			fprintf(out, r ? ", " : "");
			json_num(out, cr->pair_rate[r]);
		}
		fprintf(out, "], \"top_caches\": ");
		json_str(out, cr->top_caches);
		if (cr->failed) {
			fprintf(out, ", \"error\": ");
			json_str(out, cr->err);
		}
		fprintf(out, "}");
	} else {
		fprintf(out, "null");
	}
	fprintf(out, ",\n  \"goals\": [\n");
	for (i = 0; i < ngoals; i++) {
		const struct goal *g = &goals[i];

		fprintf(out, "    {\"id\": ");
		json_str(out, g->id);
		fprintf(out, ", \"text\": ");
		json_str(out, g->text);
		fprintf(out, ", \"value\": ");
		json_num(out, g->known ? g->value : NAN);
		fprintf(out, ", \"target\": ");
		json_num(out, g->target);
		fprintf(out, ", \"at_most\": %s, \"round_min\": ", g->at_most ? "true" : "false");
		json_num(out, g->known ? g->lo : NAN);
		fprintf(out, ", \"round_max\": ");
		json_num(out, g->known ? g->hi : NAN);
		fprintf(out, ", \"result\": \"%s\"}%s\n",
			!g->known ? "not run" : goal_pass(g) ? "PASS" : "MISS",
			i + 1 < ngoals ? "," : "");
	}
	fprintf(out, "  ]\n}\n");
}

/* ----- the chart's data (gnuplot blocks, see chart.gp) -------------------- */

/* " median min max" of figure @id as conv() puts it, times @scale; or NaNs. */
static void plot_triple(FILE *out, struct figure *figs, int n, const char *id,
			double scale, conv_fn conv)
{
	struct figure *f = figure_find(figs, n, id);
	double a, b;

	if (!f) {
		fprintf(out, " NaN NaN NaN");
		return;
	}
	a = conv(f, f->min);	/* a conversion may turn min and max around */
	b = conv(f, f->max);
	fprintf(out, " %g %g %g", conv(f, f->median) * scale, fmin(a, b) * scale,
		fmax(a, b) * scale);
}

void report_plot(FILE *out, struct figure *figs, int n, const struct create_result *cr)
{
	static const char *const pp[] = { "kchan-unbuf", "kchan-buf", "pipe", "pipe-pkt",
					  "mqueue", "seqpacket", "eventfd" };
	static const char *const st[] = { "kchan-buf", "kchan-unbuf", "pipe", "pipe-pkt",
					  "mqueue", "seqpacket" };
	static const char *const bt[] = { "kchan-batch", "kchan-uring", "pipe-uring",
					  "seqpacket-mmsg", "pipe-writev" };
	unsigned int i, shown;
	char id[96];

	goals_compute(figs, n, cr);

	/* index 0: ping-pong round trip in us, 64 B and 4 KiB */
	fprintf(out, "# pingpong: transport rtt64 min max rtt4k min max (us)\n");
	for (i = 0; i < sizeof(pp) / sizeof(pp[0]); i++) {
		fprintf(out, "\"%s\"", pp[i]);
		snprintf(id, sizeof(id), "pingpong.64.%s", pp[i]);
		plot_triple(out, figs, n, id, 1e-3, as_is);
		snprintf(id, sizeof(id), "pingpong.4096.%s", pp[i]);
		plot_triple(out, figs, n, id, 1e-3, as_is);
		fputc('\n', out);
	}

	/* index 1: 1->1 stream, thousands of msgs/s at 64 B, 4 KiB, 64 KiB */
	fprintf(out, "\n\n# stream: transport k-msgs/s at 64 B, 4 KiB, 64 KiB (each: median min max)\n");
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		fprintf(out, "\"%s\"", st[i]);
		snprintf(id, sizeof(id), "stream.64.%s", st[i]);
		plot_triple(out, figs, n, id, 1e-3, msgs_per_s);
		snprintf(id, sizeof(id), "stream.4096.%s", st[i]);
		plot_triple(out, figs, n, id, 1e-3, msgs_per_s);
		snprintf(id, sizeof(id), "stream.65536.%s", st[i]);
		plot_triple(out, figs, n, id, 1e-3, msgs_per_s);
		fputc('\n', out);
	}

	/* index 2: batched, k-msgs/s at 64 B and MB/s at 4 KiB, with baselines */
	fprintf(out, "\n\n# batch: label k-msgs/s@64B min max MB/s@4KiB min max\n");
	fprintf(out, "\"pipe (1/call)\"");
	plot_triple(out, figs, n, "stream.64.pipe", 1e-3, msgs_per_s);
	plot_triple(out, figs, n, "stream.4096.pipe", 1, mb_per_s);
	fprintf(out, "\n\"kchan-buf (1/call)\"");
	plot_triple(out, figs, n, "stream.64.kchan-buf", 1e-3, msgs_per_s);
	plot_triple(out, figs, n, "stream.4096.kchan-buf", 1, mb_per_s);
	fputc('\n', out);
	for (i = 0; i < sizeof(bt) / sizeof(bt[0]); i++) {
		fprintf(out, "\"%s\"", bt[i]);
		snprintf(id, sizeof(id), "batch.64.%s", bt[i]);
		plot_triple(out, figs, n, id, 1e-3, msgs_per_s);
		snprintf(id, sizeof(id), "batch.4096.%s", bt[i]);
		plot_triple(out, figs, n, id, 1, mb_per_s);
		fputc('\n', out);
	}
	fprintf(out, "\"memcpy\" NaN NaN NaN");
	plot_triple(out, figs, n, "memcpy.4096.memcpy", 1, mb_per_s);
	fputc('\n', out);

	/* index 3: per-message cost, 1->1 and 4->4, ns */
	fprintf(out, "\n\n# m2m: transport ns/msg 1->1 min max, 4->4 min max\n");
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		fprintf(out, "\"%s\"", st[i]);
		snprintf(id, sizeof(id), "stream.64.%s", st[i]);
		plot_triple(out, figs, n, id, 1, ns_per_msg);
		snprintf(id, sizeof(id), "m2m.64.%s", st[i]);
		plot_triple(out, figs, n, id, 1, ns_per_msg);
		fputc('\n', out);
	}

	/* index 4: goals as margins: >= 1 passes */
	fprintf(out, "\n\n# goals: id margin (achieved/required, >= 1 passes) label\n");
	for (i = 0, shown = 0; i < (unsigned int)ngoals; i++) {
		const struct goal *g = &goals[i];
		double m;

		if (!g->known || !strcmp(g->id, "IO"))
			continue;
		m = g->at_most ? g->target / g->value : g->value / g->target;
		fprintf(out, "\"%s\" %g \"%s\"\n", g->id, m, g->text);
		shown++;
	}
	if (!shown)	/* gnuplot cannot plot an empty block */
		fprintf(out, "\"(none run)\" 1 \"\"\n");
}

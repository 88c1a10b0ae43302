/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kchanbench: kchan against the kernel's other message transports, in one
 * program and one guest run, so that ratios between them mean something
 * even when the absolute figures (TCG, a shared host) do not.
 *
 * The pieces:
 *   transport.c  one-way links: kchan (unbuffered, buffered), pipe, pipe in
 *                packet mode, POSIX mqueue, UNIX SOCK_SEQPACKET, eventfd
 *   procs.c      the processes of one round: fork, pin, start together, time
 *   workload.c   ping-pong, n->m streams, memcpy
 *   batch.c      batched streams: kchan's batch ioctls, sendmmsg/recvmmsg,
 *                writev on a pipe, io_uring (liburing) on kchan and pipe
 *   create.c     creating and destroying 10,000 channels; slab per channel
 *   report.c     the table, the goals, JSON and the chart's data
 *   main.c       options, the list of measurements, rounds and medians
 */
#ifndef KCHANBENCH_H
#define KCHANBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define BENCH_MAX_ROUNDS	64
#define BENCH_MAX_PROCS		16
#define BENCH_MAX_MSG		(64 * 1024)

/* ----- transports ------------------------------------------------------ */

enum transport {
	T_KCHAN_UNBUF,		/* kchan, capacity 0: rendezvous */
	T_KCHAN_BUF,		/* kchan, capacity --capacity */
	T_PIPE,			/* pipe(2): a byte stream, no boundaries */
	T_PIPE_PKT,		/* pipe2(O_DIRECT): packets of at most PIPE_BUF */
	T_MQUEUE,		/* POSIX mqueue, maxmsg --capacity */
	T_SEQPACKET,		/* socketpair(AF_UNIX, SOCK_SEQPACKET) */
	T_EVENTFD,		/* eventfd: an 8-byte counter, wake-ups only */
	T_COUNT
};

/* One direction of a transport: messages go in at wfd and out at rfd. */
struct link {
	enum transport t;
	int wfd, rfd;
	size_t msg;		/* the message size this link was made for */
	char name[64];		/* kchan or mqueue name; "" for the others */
};

extern const char *const transport_name[T_COUNT];
int link_open(struct link *l, enum transport t, size_t msg);
void link_close(struct link *l);
/* One message of @len bytes: 0 or -errno (a short write is -EIO). */
int link_send(const struct link *l, const void *buf, size_t len);
/* One message of @len bytes (pipe: exactly @len bytes): 0 or -errno. */
int link_recv(const struct link *l, void *buf, size_t len);

/* ----- options and shared state -------------------------------------- */

struct bench_opts {
	int rounds;		/* measured rounds per figure (>= 5) */
	int round_ms;		/* target length of one round */
	unsigned int capacity;	/* kchan buffered capacity and mqueue maxmsg */
	unsigned int batch;	/* messages per batched call / SQEs per enter */
	unsigned int channels;	/* channels for the creation test */
	int create_rounds;	/* its rounds */
	int cpus;		/* online CPUs used for pinning */
	int pin;		/* PIN_SPLIT, PIN_SAME or PIN_NONE */
	int quick;		/* --quick: 3 short rounds, for trying it out */
	const char *only;	/* run only figures whose id contains this */
	const char *json;	/* --json PATH */
	int verbose;
};

enum { PIN_SPLIT, PIN_SAME, PIN_NONE };

extern struct bench_opts opts;
extern int ctl_fd;		/* KCHAN_CONTROL_PATH */

/* Fatal setup error: message and exit(2). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t now_ns(void);
void pin_cpu(int cpu, int pin);

/* kchan control: create/destroy with struct kchan_create, .size = sizeof */
int kchan_make(const char *name, unsigned int capacity, unsigned int msg_max);
int kchan_unmake(const char *name);
int kchan_make_anon(unsigned int capacity, unsigned int msg_max);	/* fd or -errno */

/* ----- rounds ----------------------------------------------------------- */

/*
 * What one process of a round did, in shared memory.  Each process times
 * its own work; the round lasts from the first start to the last end.
 */
struct proc_result {
	int64_t t0, t1;
	long ops;		/* messages (or round trips) it completed */
	long calls;		/* system calls that moved them (batching) */
	int err;		/* 0 or a positive errno */
	int iou_workers;	/* iou-wrk threads seen at its end */
};

struct round_shared {
	long total;		/* messages in this round (all writers) */
	long csw;		/* out: context switches of the round's processes */
	double cpu_ns;		/* out: their CPU time, user and system */
	long claimed;		/* readers claim messages before reading one */
	int ready;
	struct proc_result proc[BENCH_MAX_PROCS];
};

typedef int (*proc_fn)(struct round_shared *sh, int idx, void *arg);

struct proc_spec {
	proc_fn fn;
	void *arg;
	int cpu;		/* -1: not pinned */
};

int64_t run_procs(struct round_shared *sh, const struct proc_spec *spec, int n, int pin);

/* In a round's process: wait at the start line, then start the clock. */
void proc_start(struct round_shared *sh, int idx);
/* ...and stop it: @ops done, @err 0 or an errno (either sign). */
void proc_end(struct round_shared *sh, int idx, long ops, int err);
/* Runs @n processes together, placed by @pin; elapsed ns of the round, or -errno. */
struct round_shared *round_shared_new(void);
struct figure;
/* Records a round of @f that took @ns and moved @msgs messages. */
void round_done(struct figure *f, const struct round_shared *sh, int64_t ns, long msgs);
/* Readers of a shared stream: true while there is a message left to take. */
int claim_one(struct round_shared *sh);
long claim_many(struct round_shared *sh, long want);

/* ----- figures ----------------------------------------------------------- */

enum unit {
	U_NS_RTT,		/* ns per round trip, lower is better */
	U_MSGS,			/* messages per second, higher is better */
	U_NS_MSG,		/* ns per message, lower is better */
	U_MBS,			/* MB/s (10^6 bytes), higher is better */
	U_OPS,			/* operations per second */
	U_BYTES,		/* bytes */
};

/*
 * One figure: one workload on one transport.  setup() makes the links and
 * whatever else the rounds share, round() measures @iters iterations and
 * returns the figure's value for that round, teardown() undoes setup().
 */
struct figure {
	const char *id;		/* stable, for JSON and goals: "pingpong.64.pipe" */
	const char *group;	/* "pingpong", "stream", "m2m", "batch", ... */
	const char *label;	/* transport label in the table */
	size_t size;		/* message size, 0 if none */
	enum unit unit;
	int (*setup)(struct figure *f);
	double (*round)(struct figure *f, long iters);	/* < 0: failed */
	void (*teardown)(struct figure *f);
	enum transport t;
	int writers, readers;
	int mode;		/* workload-specific */
	int pin;		/* PIN_SAME, PIN_SPLIT, PIN_NONE */
	long iters;		/* calibrated */
	int64_t last_ns;	/* how long the last round took */
	long last_msgs;		/* messages (round trips) it moved */
	long last_csw;		/* context switches in it */
	double last_cpu_ns;	/* CPU time of its processes */
	void *priv;
	const char *note;	/* printed under the table, may be NULL */

	/* results */
	int nrounds;
	double v[BENCH_MAX_ROUNDS];
	double median, min, max;
	double csw[BENCH_MAX_ROUNDS];	/* context switches per message */
	double cpu[BENCH_MAX_ROUNDS];	/* CPU ns per message, all processes */
	double csw_med, cpu_med;
	long calls_per_round;	/* batching: system calls in the last round */
	long ops_per_round;
	int iou_workers;	/* io_uring: most iou-wrk threads seen */
	int failed;
	char err[128];
};

/* workload.c; f->priv of the link-based figures */
struct links {
	struct link a, b;	/* a: there (writers -> readers); b: back (ping-pong) */
	struct round_shared *sh;
};
double pingpong_round(struct figure *f, long iters);
double stream_round(struct figure *f, long iters);
int links_setup(struct figure *f);
void links_teardown(struct figure *f);
double memcpy_round(struct figure *f, long iters);
int memcpy_setup(struct figure *f);
void memcpy_teardown(struct figure *f);

/* batch.c */
enum batch_mode {
	B_KCHAN_IOCTL,		/* KCHAN_IOC_SEND_BATCH / RECV_BATCH */
	B_URING,		/* io_uring IORING_OP_WRITE/READ, many per enter */
	B_MMSG,			/* sendmmsg/recvmmsg on SOCK_SEQPACKET */
	B_WRITEV,		/* writev of many messages, one big read (pipe) */
};
double batch_round(struct figure *f, long iters);
int iou_worker_threads(pid_t pid);	/* iou-wrk threads of @pid, or -1 */

/* create.c */
struct create_result {
	int nrounds;
	unsigned int channels;
	double create_rate[BENCH_MAX_ROUNDS];	/* creates per second */
	double destroy_rate[BENCH_MAX_ROUNDS];
	double pair_rate[BENCH_MAX_ROUNDS];	/* create+destroy per second */
	double slab_bytes[BENCH_MAX_ROUNDS];	/* meminfo Slab delta / channel */
	double obj_bytes[BENCH_MAX_ROUNDS];	/* slabinfo object bytes / channel */
	double create_med, destroy_med, pair_med, slab_med, obj_med;
	double pair_min, pair_max, slab_min, slab_max;
	char top_caches[512];	/* the slab caches that grew most, per channel */
	/* anonymous channels, beside pipes */
	int make_rounds;
	double make_rate[BENCH_MAX_ROUNDS];	/* KCHAN_IOC_MAKE + close per second */
	double pipe_rate[BENCH_MAX_ROUNDS];	/* pipe2 + close of both ends per second */
	double make_med, make_min, make_max, pipe_med, pipe_min, pipe_max;
	int anon_rounds;			/* with RLIMIT_NOFILE raised far enough */
	double anon_slab_bytes[BENCH_MAX_ROUNDS];	/* meminfo Slab delta / anonymous channel held open */
	double anon_slab_med, anon_slab_min, anon_slab_max;
	int failed;
	char err[160];
};
void create_bench(struct create_result *r);
void create_restore_limits(void);

/* report.c */
double median_of(const double *v, int n);
void stats_fill(struct figure *f);
struct figure *figure_find(struct figure *figs, int n, const char *id);
void report_table(FILE *out, struct figure *figs, int n,
		  const struct create_result *cr);
int report_goals(FILE *out, struct figure *figs, int n,
		 const struct create_result *cr);
void report_json(FILE *out, struct figure *figs, int n,
		 const struct create_result *cr);
void report_plot(FILE *out, struct figure *figs, int n,
		 const struct create_result *cr);
const char *unit_name(enum unit u);

#endif /* KCHANBENCH_H */

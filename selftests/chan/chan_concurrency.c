// SPDX-License-Identifier: GPL-2.0
/*
 * Many readers and writers on one channel, buffered and unbuffered,
 * blocking and polling: every message is received exactly once, intact,
 * and each writer's messages leave in the order it sent them.
 */
#include "chan_test.h"

#include <pthread.h>

#define MSG_MAX		256
#define MAX_WRITERS	8
#define MAX_READERS	8
#define MAX_PER_WRITER	400
#define MAX_TOTAL	(MAX_WRITERS * MAX_PER_WRITER)
#define GUARD		240	/* seconds: a whole plan under TCG */
#define MAGIC		0x6b636861u

struct hdr {
	__u32 magic;
	__u32 writer;
	__u32 seq;
	__u32 len;	/* payload bytes after the header */
};

struct rec {
	__u32 writer;
	__u32 seq;
};

/* Shared between the test and its helpers (MAP_SHARED). */
struct results {
	volatile int count[MAX_READERS];	/* messages each reader got */
	volatile int bad[MAX_READERS];		/* corrupt ones */
	volatile int rerr[MAX_READERS];		/* errno that stopped a reader */
	volatile int werr[MAX_WRITERS];		/* errno that stopped a writer */
	struct rec recs[MAX_READERS][MAX_TOTAL];
};

struct plan {
	int writers;
	int readers;
	int per_writer;
	bool nb_readers;	/* O_NONBLOCK + poll(POLLIN) + retry on EAGAIN */
	bool nb_writers;	/* O_NONBLOCK + poll(POLLOUT) + retry on EAGAIN */
};

FIXTURE(conc) {
	struct chan_env env;
	struct results *res;
};

FIXTURE_VARIANT(conc) {
	__u32 capacity;
};

FIXTURE_VARIANT_ADD(conc, unbuffered) { .capacity = 0 };
FIXTURE_VARIANT_ADD(conc, cap1) { .capacity = 1 };
FIXTURE_VARIANT_ADD(conc, cap16) { .capacity = 16 };

FIXTURE_SETUP(conc)
{
	chan_env_setup(&self->env, variant->capacity, MSG_MAX, 0);
	self->res = mmap(NULL, sizeof(*self->res), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->res);
	memset(self->res, 0, sizeof(*self->res));
}

FIXTURE_TEARDOWN(conc)
{
	chan_env_teardown(&self->env);
}

static unsigned char pattern(__u32 w, __u32 seq, __u32 i)
{
	return (unsigned char)(w * 31 + seq * 7 + i);
}

/* Message seq of writer w: a header and a payload of varying length. */
static size_t make_msg(char *buf, __u32 w, __u32 seq)
{
	struct hdr h = { MAGIC, w, seq, (w * 13 + seq * 7) % (MSG_MAX - sizeof(h) + 1) };
	__u32 i;

	memcpy(buf, &h, sizeof(h));
	for (i = 0; i < h.len; i++)
		buf[sizeof(h) + i] = pattern(w, seq, i);
	return sizeof(h) + h.len;
}

static bool msg_ok(const char *buf, ssize_t n, struct rec *r)
{
	struct hdr h;
	__u32 i;

	if (n < (ssize_t)sizeof(h))
		return false;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != MAGIC || (size_t)n != sizeof(h) + h.len)
		return false;
	for (i = 0; i < h.len; i++)
		if ((unsigned char)buf[sizeof(h) + i] != pattern(h.writer, h.seq, i))
			return false;
	r->writer = h.writer;
	r->seq = h.seq;
	return true;
}

static void wait_ready(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	poll(&p, 1, 1000);
}

/* Sends per_writer messages on fd; 0 or an errno. */
static int send_all(int fd, int w, int per_writer, bool nb)
{
	char buf[MSG_MAX];
	int seq;

	for (seq = 0; seq < per_writer; seq++) {
		size_t len = make_msg(buf, w, seq);

		for (;;) {
			ssize_t n = write(fd, buf, len);

			if (n == (ssize_t)len)
				break;
			if (n < 0 && errno == EAGAIN && nb) {
				wait_ready(fd, POLLOUT);
				continue;
			}
			return n < 0 ? errno : EIO;
		}
	}
	return 0;
}

/* Receives until EOF into reader slot r; 0 or an errno. */
static int recv_all(int fd, struct results *res, int r, bool nb)
{
	char buf[MSG_MAX];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		struct rec rec;

		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EAGAIN && nb) {
				wait_ready(fd, POLLIN);
				continue;
			}
			return errno;
		}
		if (!msg_ok(buf, n, &rec)) {
			res->bad[r]++;
			continue;
		}
		if (res->count[r] < MAX_TOTAL)
			res->recs[r][res->count[r]] = rec;
		res->count[r]++;
	}
}

/*
 * Checks the results: every (writer, seq) received exactly once, nothing
 * corrupt, and each reader saw each writer's messages in increasing order.
 * With a single reader that order must be exactly 0, 1, 2, ...
 */
static void verify(struct __test_metadata *_metadata, struct results *res,
		   const struct plan *p, int fd)
{
	static unsigned char seen[MAX_WRITERS][MAX_PER_WRITER];
	struct kchan_info info;
	int r, w, i, total = 0, dups = 0, missing = 0;

	memset(seen, 0, sizeof(seen));
	for (w = 0; w < p->writers; w++)
		EXPECT_EQ(0, res->werr[w]) TH_LOG("writer %d: %s", w, strerror(res->werr[w]));
	for (r = 0; r < p->readers; r++) {
		__s64 last[MAX_WRITERS];

		EXPECT_EQ(0, res->rerr[r]) TH_LOG("reader %d: %s", r, strerror(res->rerr[r]));
		EXPECT_EQ(0, res->bad[r]) TH_LOG("reader %d: corrupt messages", r);
		ASSERT_LE(res->count[r], MAX_TOTAL);
		for (w = 0; w < MAX_WRITERS; w++)
			last[w] = -1;
		for (i = 0; i < res->count[r]; i++) {
			struct rec *rec = &res->recs[r][i];

			ASSERT_LT(rec->writer, (__u32)p->writers);
			ASSERT_LT(rec->seq, (__u32)p->per_writer);
			if (seen[rec->writer][rec->seq]++)
				dups++;
			ASSERT_LT(last[rec->writer], (__s64)rec->seq)
				TH_LOG("reader %d: writer %u's message %u after %lld",
				       r, rec->writer, rec->seq, (long long)last[rec->writer]);
			if (p->readers == 1)
				ASSERT_EQ(last[rec->writer] + 1, (__s64)rec->seq)
					TH_LOG("single reader: writer %u skipped to %u", rec->writer, rec->seq);
			last[rec->writer] = rec->seq;
		}
		total += res->count[r];
	}
	for (w = 0; w < p->writers; w++)
		for (i = 0; i < p->per_writer; i++)
			if (!seen[w][i])
				missing++;
	EXPECT_EQ(0, dups) TH_LOG("messages received twice");
	EXPECT_EQ(0, missing) TH_LOG("messages never received");
	EXPECT_EQ(p->writers * p->per_writer, total);

	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ((__u64)p->writers * p->per_writer, info.sent);
	EXPECT_EQ((__u64)p->writers * p->per_writer, info.received);
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(KCHAN_STATE_CLOSED, info.state);
}

/* Readers and writers as processes, each with its own open file. */
static void run_processes(struct __test_metadata *_metadata,
			  FIXTURE_DATA(conc) *self, const struct plan *p)
{
	pid_t readers[MAX_READERS], writers[MAX_WRITERS];
	int i;

	for (i = 0; i < p->readers; i++) {
		readers[i] = chan_fork();
		ASSERT_LE(0, readers[i]);
		if (readers[i] == 0) {
			int fd = chan_open(self->env.name, O_RDONLY |
					   (p->nb_readers ? O_NONBLOCK : 0));

			alarm(GUARD);
			self->res->rerr[i] = fd < 0 ? -fd : recv_all(fd, self->res, i, p->nb_readers);
			_exit(0);
		}
	}
	for (i = 0; i < p->writers; i++) {
		writers[i] = chan_fork();
		ASSERT_LE(0, writers[i]);
		if (writers[i] == 0) {
			int fd = chan_open(self->env.name, O_WRONLY |
					   (p->nb_writers ? O_NONBLOCK : 0));

			alarm(GUARD);
			self->res->werr[i] = fd < 0 ? -fd : send_all(fd, i, p->per_writer, p->nb_writers);
			_exit(0);
		}
	}
	for (i = 0; i < p->writers; i++)
		ASSERT_EQ(0, chan_reap(writers[i])) TH_LOG("writer %d", i);
	/* Everything is sent (and, unbuffered, taken): close so readers see EOF. */
	ASSERT_EQ(0, chan_ioctl(self->env.fd, KCHAN_IOC_CLOSE, NULL));
	for (i = 0; i < p->readers; i++)
		ASSERT_EQ(0, chan_reap(readers[i])) TH_LOG("reader %d", i);
	verify(_metadata, self->res, p, self->env.fd);
}

TEST_F_TIMEOUT(conc, one_writer_one_reader_in_order, GUARD + 30)
{
	struct plan p = { .writers = 1, .readers = 1, .per_writer = MAX_PER_WRITER };

	run_processes(_metadata, self, &p);
}

TEST_F_TIMEOUT(conc, many_writers_one_reader_per_writer_fifo, GUARD + 30)
{
	struct plan p = { .writers = 4, .readers = 1, .per_writer = 200 };

	run_processes(_metadata, self, &p);
}

TEST_F_TIMEOUT(conc, many_writers_many_readers_exactly_once, GUARD + 30)
{
	struct plan p = { .writers = 4, .readers = 4, .per_writer = 200 };

	run_processes(_metadata, self, &p);
}

TEST_F_TIMEOUT(conc, polling_readers_exactly_once, GUARD + 30)
{
	struct plan p = { .writers = 3, .readers = 3, .per_writer = 150,
			  .nb_readers = true };

	run_processes(_metadata, self, &p);
}

TEST_F_TIMEOUT(conc, polling_writers_exactly_once, GUARD + 30)
{
	struct plan p = { .writers = 3, .readers = 3, .per_writer = 150,
			  .nb_writers = true };

	run_processes(_metadata, self, &p);
}

/* Threads sharing one open file (one struct file, many tasks). */
struct thread_arg {
	int fd;
	int index;
	int per_writer;
	struct results *res;
};

static void *writer_thread(void *p)
{
	struct thread_arg *a = p;

	a->res->werr[a->index] = send_all(a->fd, a->index, a->per_writer, false);
	return NULL;
}

static void *reader_thread(void *p)
{
	struct thread_arg *a = p;

	a->res->rerr[a->index] = recv_all(a->fd, a->res, a->index, false);
	return NULL;
}

TEST_F_TIMEOUT(conc, threads_sharing_one_file_exactly_once, GUARD + 30)
{
	struct plan p = { .writers = 4, .readers = 4, .per_writer = 150 };
	pid_t pid;

	/* In a helper, so a hang ends at its guard and teardown still runs. */
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct thread_arg wa[MAX_WRITERS], ra[MAX_READERS];
		pthread_t wt[MAX_WRITERS], rt[MAX_READERS];
		int i;

		alarm(GUARD);
		for (i = 0; i < p.readers; i++) {
			ra[i] = (struct thread_arg){ self->env.fd, i, p.per_writer, self->res };
			if (pthread_create(&rt[i], NULL, reader_thread, &ra[i]))
				_exit(1);
		}
		for (i = 0; i < p.writers; i++) {
			wa[i] = (struct thread_arg){ self->env.fd, i, p.per_writer, self->res };
			if (pthread_create(&wt[i], NULL, writer_thread, &wa[i]))
				_exit(1);
		}
		for (i = 0; i < p.writers; i++)
			pthread_join(wt[i], NULL);
		if (chan_ioctl(self->env.fd, KCHAN_IOC_CLOSE, NULL))
			_exit(2);
		for (i = 0; i < p.readers; i++)
			pthread_join(rt[i], NULL);
		_exit(0);
	}
	ASSERT_EQ(0, chan_reap(pid));
	verify(_metadata, self->res, &p, self->env.fd);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring: the channel files carry FMODE_NOWAIT, so a read or write that
 * cannot complete at once is parked on the channel's poll queue and
 * finished when the channel is ready, without an io-wq worker thread
 * ("iou-wrk-<pid>") blocking in read() or write().  Raw syscalls, no liburing.
 */
#include "chan_test.h"

#include <dirent.h>
#include <linux/io_uring.h>

#define MAX	64
#define CAP	2

struct ring {
	int fd;
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r)
{
	struct io_uring_params p;
	size_t sq_len, cq_len;
	char *sq, *cq;

	memset(&p, 0, sizeof(p));
	r->fd = syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -errno;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP))
		return -EOPNOTSUPP;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (cq_len > sq_len)
		sq_len = cq_len;
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		  r->fd, IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return -errno;
	cq = sq;
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		return -errno;
	r->sq_head = (unsigned int *)(sq + p.sq_off.head);
	r->sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(sq + p.sq_off.array);
	r->cq_head = (unsigned int *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submits one read or write of buf[0..len) on fd; 0 or -errno. */
static int ring_submit(struct ring *r, int op, int fd, void *buf, unsigned int len)
{
	unsigned int tail = *r->sq_tail, idx = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[idx];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->fd = fd;
	sqe->addr = (unsigned long)buf;
	sqe->len = len;
	sqe->off = -1;		/* the file position: a stream has none */
	sqe->user_data = 42;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0) != 1)
		return -errno;
	return 0;
}

/* The next completion's result, or INT_MIN if none is there. */
static int ring_peek(struct ring *r)
{
	unsigned int head = *r->cq_head;
	int res;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return INT_MIN;
	res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

/*
 * Waits for a completion.  The completion is posted from task work, which
 * runs when this task passes through the kernel: usleep() is that pass.
 */
static int ring_wait(struct ring *r)
{
	int i, res;

	for (i = 0; i < CHAN_WAIT_MS; i++) {
		res = ring_peek(r);
		if (res != INT_MIN)
			return res;
		usleep(1000);
	}
	return INT_MIN;
}

/* Threads of ours named iou-wrk-*: io-wq workers. */
static int io_workers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[300], comm[64];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if (chan_read_file(path, comm, sizeof(comm)) > 0 &&
		    !strncmp(comm, "iou-wrk", 7))
			n++;
	}
	closedir(d);
	return n;
}

FIXTURE(uring) {
	struct chan_env env;
	struct ring ring;
};

FIXTURE_VARIANT(uring) {
	__u32 capacity;
};

FIXTURE_VARIANT_ADD(uring, buffered) { .capacity = CAP };
FIXTURE_VARIANT_ADD(uring, unbuffered) { .capacity = 0 };

FIXTURE_SETUP(uring)
{
	int ret;

	chan_env_setup(&self->env, variant->capacity, MAX, 0);
	ret = ring_init(&self->ring);
	if (ret == -ENOSYS || ret == -EPERM || ret == -EOPNOTSUPP)
		SKIP(return, "io_uring unavailable: %s", strerror(-ret));
	ASSERT_EQ(0, ret);
}

FIXTURE_TEARDOWN(uring)
{
	chan_env_teardown(&self->env);
}

TEST_F_TIMEOUT(uring, read_waits_without_worker, CHAN_TIMEOUT)
{
	char buf[MAX];
	struct chan_io *io = NULL;
	pid_t writer = -1;

	memset(buf, 0, sizeof(buf));
	/* The blocking fd: only FMODE_NOWAIT keeps io_uring from a worker. */
	ASSERT_EQ(0, ring_submit(&self->ring, IORING_OP_READ, self->env.fd, buf, sizeof(buf)));
	EXPECT_EQ(INT_MIN, ring_peek(&self->ring)) TH_LOG("completed with nothing to read");
	EXPECT_EQ(0, io_workers());

	if (variant->capacity) {
		ASSERT_EQ(5, write(self->env.nb, "hello", 5));
	} else {
		/* A parked request is no reader blocked in read(): O_NONBLOCK fails. */
		EXPECT_EQ(-1, write(self->env.nb, "hello", 5));
		EXPECT_EQ(EAGAIN, errno);
		io = chan_io_new();
		ASSERT_NE(NULL, io);
		writer = chan_spawn_write(self->env.fd, "hello", 5, io);
		ASSERT_LE(0, writer);
	}
	ASSERT_EQ(5, ring_wait(&self->ring));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(0, io_workers()) TH_LOG("an io-wq worker did the read");
	if (writer > 0) {
		ASSERT_EQ(0, chan_reap(writer));
		EXPECT_EQ(5, io->ret);
	}
	EXPECT_EQ(0, chan_len(self->env.fd));
}

TEST_F_TIMEOUT(uring, write_waits_without_worker, CHAN_TIMEOUT)
{
	struct chan_io *io = NULL;
	char b[MAX];
	pid_t reader = -1;

	if (variant->capacity)
		ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	ASSERT_EQ(0, ring_submit(&self->ring, IORING_OP_WRITE, self->env.fd, "late", 4));
	EXPECT_EQ(INT_MIN, ring_peek(&self->ring)) TH_LOG("completed with no room");
	EXPECT_EQ(0, io_workers());

	if (variant->capacity) {
		ASSERT_EQ(2, read(self->env.nb, b, sizeof(b)));
		ASSERT_EQ(4, ring_wait(&self->ring));
		ASSERT_EQ(2, read(self->env.nb, b, sizeof(b)));
		ASSERT_EQ(4, read(self->env.nb, b, sizeof(b)));
		EXPECT_EQ(0, memcmp(b, "late", 4));
	} else {
		EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
		EXPECT_EQ(EAGAIN, errno);
		io = chan_io_new();
		ASSERT_NE(NULL, io);
		reader = chan_spawn_read(self->env.fd, MAX, io);
		ASSERT_LE(0, reader);
		ASSERT_EQ(4, ring_wait(&self->ring));
		ASSERT_EQ(0, chan_reap(reader));
		EXPECT_EQ(4, io->ret);
		EXPECT_EQ(0, memcmp(io->buf, "late", 4));
	}
	EXPECT_EQ(0, io_workers()) TH_LOG("an io-wq worker did the write");
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring on channel files without io-wq workers, with many requests in
 * flight: what the benchmark's io_uring mode relies on.
 *
 * selftests/chan/chan_iouring.c checks one parked read and one parked
 * write per ring.  Here: 32 reads (or writes) submitted by one
 * io_uring_enter and parked together, completed by a counterpart in
 * another process, each message exactly once; and a 2,000-message stream
 * with 32 SQEs per enter on both sides.  After each, no thread of ours is
 * an io-wq worker ("iou-wrk-<pid>").  A control test forces a worker with
 * IOSQE_ASYNC on a pipe, so a detector that never sees one fails there.
 * Uses liburing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <linux/kchan.h>

#include "kselftest_harness.h"

#define INFLIGHT	32
#define MSG		64
#define STREAM		2000
#define WAIT_S		20

/* Threads of @pid (0: us) named iou-wrk-*. */
static int io_workers(pid_t pid)
{
	char path[64], p[600], comm[32];
	struct dirent *e;
	int n = 0, fd;
	ssize_t len;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid ? (int)pid : (int)getpid());
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/comm", path, e->d_name);
		fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		len = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (len > 0 && !strncmp(comm, "iou-wrk", 7))
			n++;
	}
	closedir(d);
	return n;
}

static int chan_ctl(unsigned long cmd, void *req)
{
	int fd = open(KCHAN_CONTROL_PATH, O_RDWR | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, cmd, req) ? -errno : 0;
	close(fd);
	return ret;
}

static int chan_create(const char *name, unsigned int capacity)
{
	struct kchan_create req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.capacity = capacity;
	req.msg_max = MSG;
	snprintf(req.name, sizeof(req.name), "%s", name);
	return chan_ctl(KCHAN_IOC_CREATE, &req);
}

static void chan_destroy(const char *name)
{
	struct kchan_name req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	snprintf(req.name, sizeof(req.name), "%s", name);
	chan_ctl(KCHAN_IOC_DESTROY, &req);
}

/* Message i: its index, then a pattern of it. */
static void msg_fill(char *buf, int i)
{
	memset(buf, 'a' + i % 26, MSG);
	memcpy(buf, &i, sizeof(i));
}

static int msg_index(const char *buf)
{
	char want[MSG];
	int i;

	memcpy(&i, buf, sizeof(i));
	if (i < 0 || i >= STREAM)
		return -1;
	msg_fill(want, i);
	return memcmp(want, buf, MSG) ? -1 : i;
}

/* What a peer process did, in shared memory. */
struct peer_report {
	int done;		/* messages it moved */
	int err;		/* errno of its first failure */
	int workers;		/* its iou-wrk threads at the end */
	char seen[STREAM];	/* reader: how often each message came */
};

/*
 * A peer process that moves @count messages on @fd with plain read()/write()
 * (@ring 0) or io_uring, INFLIGHT per enter (@ring 1).  Exits 0 on success.
 */
static void peer(int fd, int writing, int count, int ring, struct peer_report *rep)
{
	static char bufs[INFLIGHT][MSG];
	struct io_uring r;
	int i, k, n;

	alarm(WAIT_S + 10);
	if (!ring) {
		for (i = 0; i < count; i++) {
			ssize_t len;

			if (writing) {
				msg_fill(bufs[0], i);
				len = write(fd, bufs[0], MSG);
			} else {
				len = read(fd, bufs[0], MSG);
				if (len == MSG && (k = msg_index(bufs[0])) >= 0)
					rep->seen[k]++;
			}
			if (len != MSG) {
				rep->err = len < 0 ? errno : EIO;
				_exit(1);
			}
			rep->done++;
		}
		_exit(0);
	}
	if (io_uring_queue_init(INFLIGHT, &r, 0)) {
		rep->err = ENOSYS;
		_exit(1);
	}
	for (i = 0; i < count; i += n) {
		struct io_uring_cqe *cqe;

		n = count - i < INFLIGHT ? count - i : INFLIGHT;
		for (k = 0; k < n; k++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&r);

			if (writing) {
				msg_fill(bufs[k], i + k);
				io_uring_prep_write(sqe, fd, bufs[k], MSG, -1);
			} else {
				io_uring_prep_read(sqe, fd, bufs[k], MSG, -1);
			}
			sqe->user_data = k;
		}
		if (io_uring_submit_and_wait(&r, n) < 0) {
			rep->err = EIO;
			_exit(1);
		}
		for (k = 0; k < n; k++) {
			if (io_uring_wait_cqe(&r, &cqe) || cqe->res != MSG) {
				rep->err = EIO;
				_exit(1);
			}
			if (!writing) {
				int idx = msg_index(bufs[cqe->user_data]);

				if (idx >= 0)
					rep->seen[idx]++;
			}
			io_uring_cqe_seen(&r, cqe);
			rep->done++;
		}
	}
	rep->workers = io_workers(0);
	_exit(rep->workers ? 1 : 0);
}

FIXTURE(inflight) {
	char name[KCHAN_NAME_MAX];
	int fd;
	struct io_uring ring;
	struct peer_report *rep;
	pid_t peer;
};

FIXTURE_VARIANT(inflight) {
	unsigned int capacity;
};

FIXTURE_VARIANT_ADD(inflight, buffered) { .capacity = INFLIGHT * 2 };
FIXTURE_VARIANT_ADD(inflight, unbuffered) { .capacity = 0 };

FIXTURE_SETUP(inflight)
{
	char path[128];
	int ret;

	self->fd = -1;
	self->peer = -1;
	snprintf(self->name, sizeof(self->name), "iou-%d", (int)getpid());
	ret = chan_create(self->name, variant->capacity);
	if (ret == -ENOENT)
		SKIP(return, "no %s: kchan is not loaded", KCHAN_CONTROL_PATH);
	ASSERT_EQ(0, ret);
	snprintf(path, sizeof(path), KCHAN_DEV_DIR "/%s", self->name);
	self->fd = open(path, O_RDWR | O_CLOEXEC);	/* blocking: no O_NONBLOCK */
	ASSERT_LE(0, self->fd);
	ret = io_uring_queue_init(INFLIGHT * 2, &self->ring, 0);
	if (ret == -ENOSYS || ret == -EPERM)
		SKIP(return, "io_uring unavailable: %s", strerror(-ret));
	ASSERT_EQ(0, ret);
	self->rep = mmap(NULL, sizeof(*self->rep), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->rep);
	memset(self->rep, 0, sizeof(*self->rep));
}

FIXTURE_TEARDOWN(inflight)
{
	if (self->peer > 0) {
		kill(self->peer, SIGKILL);
		waitpid(self->peer, NULL, 0);
	}
	if (self->fd >= 0)
		close(self->fd);
	chan_destroy(self->name);
}

static pid_t spawn_peer(int fd, int writing, int count, int ring,
			  struct peer_report *rep)
{
	pid_t pid = fork();

	if (pid == 0)
		peer(fd, writing, count, ring, rep);
	return pid;
}

static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reaps @n completions of @ring, each of @expect bytes; how many came. */
static int reap_cqes(struct io_uring *ring, int n, int expect, char (*bufs)[MSG],
		     char *seen)
{
	struct __kernel_timespec ts = { .tv_sec = WAIT_S };
	struct io_uring_cqe *cqe;
	int got = 0;

	while (got < n) {
		if (io_uring_wait_cqe_timeout(ring, &cqe, &ts))
			break;
		if (cqe->res != expect) {
			io_uring_cqe_seen(ring, cqe);
			break;
		}
		if (seen) {
			int idx = msg_index(bufs[cqe->user_data]);

			if (idx >= 0)
				seen[idx]++;
		}
		io_uring_cqe_seen(ring, cqe);
		got++;
	}
	return got;
}

TEST_F_TIMEOUT(inflight, reads_parked_together, WAIT_S + 30)
{
	static char bufs[INFLIGHT][MSG];
	char seen[STREAM] = { 0 };
	struct io_uring_cqe *cqe;
	int k;

	for (k = 0; k < INFLIGHT; k++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

		io_uring_prep_read(sqe, self->fd, bufs[k], MSG, -1);
		sqe->user_data = k;
	}
	/* One io_uring_enter submits all of them. */
	ASSERT_EQ(INFLIGHT, io_uring_submit(&self->ring));
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&self->ring, &cqe))
		TH_LOG("a read completed on an empty channel");
	EXPECT_EQ(0, io_workers(0)) TH_LOG("parked reads went to io-wq workers");

	self->peer = spawn_peer(self->fd, 1, INFLIGHT, 0, self->rep);
	ASSERT_LT(0, self->peer);
	EXPECT_EQ(INFLIGHT, reap_cqes(&self->ring, INFLIGHT, MSG, bufs, seen));
	EXPECT_EQ(0, io_workers(0)) TH_LOG("an io-wq worker did a read");
	EXPECT_EQ(0, reap(self->peer));
	self->peer = -1;
	for (k = 0; k < INFLIGHT; k++)
		EXPECT_EQ(1, seen[k]) TH_LOG("message %d came %d times", k, seen[k]);
}

TEST_F_TIMEOUT(inflight, writes_parked_together, WAIT_S + 30)
{
	static char bufs[INFLIGHT][MSG];
	struct io_uring_cqe *cqe;
	unsigned int k;

	/* A buffered channel first fills up, so that the writes must wait. */
	for (k = 0; k < variant->capacity; k++) {
		msg_fill(bufs[0], k);
		ASSERT_EQ(MSG, write(self->fd, bufs[0], MSG));
	}
	for (k = 0; k < INFLIGHT; k++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

		msg_fill(bufs[k], variant->capacity + k);
		io_uring_prep_write(sqe, self->fd, bufs[k], MSG, -1);
		sqe->user_data = k;
	}
	ASSERT_EQ(INFLIGHT, io_uring_submit(&self->ring));
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&self->ring, &cqe))
		TH_LOG("a write completed on a full channel");
	EXPECT_EQ(0, io_workers(0)) TH_LOG("parked writes went to io-wq workers");

	self->peer = spawn_peer(self->fd, 0, variant->capacity + INFLIGHT, 0, self->rep);
	ASSERT_LT(0, self->peer);
	EXPECT_EQ(INFLIGHT, reap_cqes(&self->ring, INFLIGHT, MSG, bufs, NULL));
	EXPECT_EQ(0, io_workers(0)) TH_LOG("an io-wq worker did a write");
	EXPECT_EQ(0, reap(self->peer));
	self->peer = -1;
	for (k = 0; k < variant->capacity + INFLIGHT; k++)
		EXPECT_EQ(1, self->rep->seen[k]) TH_LOG("message %u came %d times", k,
							 self->rep->seen[k]);
}

TEST_F_TIMEOUT(inflight, stream_both_sides_uring, WAIT_S + 30)
{
	pid_t writer;
	int k;

	/*
	 * Parked requests are pollers, not blocked readers or writers, and
	 * on an unbuffered channel two pollers never meet (kchan(7), poll):
	 * an io_uring reader needs a blocking writer there, or the reverse.
	 */
	if (!variant->capacity)
		SKIP(return, "unbuffered: io_uring on both sides never rendezvous (by design)");
	/* Reader and writer both io_uring, INFLIGHT SQEs per io_uring_enter. */
	writer = spawn_peer(self->fd, 1, STREAM, 1, self->rep);
	ASSERT_LT(0, writer);
	self->peer = spawn_peer(self->fd, 0, STREAM, 1, self->rep);
	ASSERT_LT(0, self->peer);
	EXPECT_EQ(0, reap(writer)) TH_LOG("writer: errno %d, iou-wrk %d",
					  self->rep->err, self->rep->workers);
	EXPECT_EQ(0, reap(self->peer)) TH_LOG("reader: errno %d, iou-wrk %d",
						self->rep->err, self->rep->workers);
	self->peer = -1;
	EXPECT_EQ(0, self->rep->workers);
	for (k = 0; k < STREAM; k++)
		if (self->rep->seen[k] != 1) {
			EXPECT_EQ(1, self->rep->seen[k]) TH_LOG("message %d", k);
			break;
		}
}

/* The control: a worker that exists is seen, so the zeros above mean something. */
TEST(detector_sees_a_forced_worker)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	char buf[MSG];
	int p[2], i, seen = 0;

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, p[0], buf, sizeof(buf), -1);
	sqe->flags |= IOSQE_ASYNC;	/* straight to io-wq: a worker blocks in read() */
	ASSERT_EQ(1, io_uring_submit(&ring));
	for (i = 0; i < 200 && !seen; i++) {
		seen = io_workers(0);
		usleep(10 * 1000);
	}
	EXPECT_LT(0, seen) TH_LOG("no iou-wrk thread seen for an IOSQE_ASYNC read");
	ASSERT_EQ(3, write(p[1], "end", 3));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(3, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN

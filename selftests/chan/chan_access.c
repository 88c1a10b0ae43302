// SPDX-License-Identifier: GPL-2.0
/*
 * Access modes (issue 11, defect 1): every data operation and every ioctl
 * against fds opened O_RDONLY, O_WRONLY and O_RDWR, on a buffered and an
 * unbuffered channel, with the documented result for each cell.  An
 * operation that moves a message out needs FMODE_READ, one that moves a
 * message in (or closes) needs FMODE_WRITE, and a refused one (EBADF)
 * changes nothing.  uapi_ioctls_all_in_matrix parses uapi/linux/kchan.h so
 * that a new ioctl cannot skip the matrix.
 */
#include "chan_test.h"

#ifndef KCHAN_UAPI_H
#error "build with -DKCHAN_UAPI_H=\"<tree>/uapi/linux/kchan.h\" (selftests/chan/Makefile does)"
#endif

#define MAX	64
#define CAP	4

enum { M_RD, M_WR, M_RW, NMODES };
static const int mode_flags[NMODES] = { O_RDONLY, O_WRONLY, O_RDWR };
static const char *const mode_name[NMODES] = { "O_RDONLY", "O_WRONLY", "O_RDWR" };

/* A select's case completed but not as case 0, or with the wrong length. */
#define WRONG_SELECT	(-100000L)

/* ----- the operations: fd is opened with the cell's mode | O_NONBLOCK --- */

static long errno_or(long r)
{
	return r < 0 ? -errno : r;
}

static long op_read(int fd)
{
	char b[MAX];

	return errno_or(read(fd, b, sizeof(b)));
}

static long op_readv(int fd)
{
	char b[MAX];
	struct iovec iov = { b, sizeof(b) };

	return errno_or(readv(fd, &iov, 1));
}

static long op_write(int fd)
{
	return errno_or(write(fd, "w", 1));
}

static long op_writev(int fd)
{
	struct iovec iov = { (void *)"w", 1 };

	return errno_or(writev(fd, &iov, 1));
}

static long batch(int fd, unsigned long cmd)
{
	static char b[MAX];
	struct kchan_msgvec v = { .buf = (__u64)(uintptr_t)b, .len = sizeof(b) };
	struct kchan_batch arg;

	if (cmd == KCHAN_IOC_SEND_BATCH) {
		b[0] = 'b';
		v.len = 1;
	}
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.msgs = (__u64)(uintptr_t)&v;
	arg.count = 1;
	return errno_or(ioctl(fd, cmd, &arg));
}

static long op_send_batch(int fd)
{
	return batch(fd, KCHAN_IOC_SEND_BATCH);
}

static long op_recv_batch(int fd)
{
	return batch(fd, KCHAN_IOC_RECV_BATCH);
}

/* A select of one case on fd, never waiting: 0 if case 0 completed, or -errno. */
static long select1(int fd, __u32 op)
{
	char b[MAX] = "s";
	struct kchan_select_case c;
	struct kchan_select s;
	int ret;

	chan_case(&c, fd, op, b, op == KCHAN_SELECT_SEND ? 1 : sizeof(b));
	ret = chan_select(fd, &c, 1, 0, &s);
	if (ret == -EAGAIN)
		return s.index == -1 ? ret : WRONG_SELECT;
	if (ret)
		return s.index == 0 ? ret : WRONG_SELECT;
	if (s.index != 0 || (op == KCHAN_SELECT_RECV && s.result_len != 1))
		return WRONG_SELECT;
	return 0;
}

static long op_select_recv(int fd)
{
	return select1(fd, KCHAN_SELECT_RECV);
}

static long op_select_send(int fd)
{
	return select1(fd, KCHAN_SELECT_SEND);
}

/* The held message's length, or -errno. */
static long op_hold(int fd)
{
	struct kchan_hold h;
	char b[MAX];

	return chan_hold_into(fd, b, sizeof(b), &h);
}

static long op_ack(int fd)
{
	return chan_ack_ret(fd, KCHAN_IOC_ACK, ~0ULL);
}

static long op_return(int fd)
{
	return chan_ack_ret(fd, KCHAN_IOC_RETURN, 0);
}

/* 0: sent. */
static long op_send_once(int fd)
{
	return chan_send_once(fd, "o", 1, 7, 1);
}

/* The seq of stream 7 (0: unknown), or -errno. */
static long op_stream_seq(int fd)
{
	return chan_stream_seq(fd, 7, 0);
}

static long op_stream_forget(int fd)
{
	return chan_stream_seq(fd, 7, KCHAN_STREAM_FORGET);
}

static long op_close(int fd)
{
	return errno_or(ioctl(fd, KCHAN_IOC_CLOSE));
}

static long op_info(int fd)
{
	struct kchan_info info;

	return chan_info(fd, &info);
}

/* The control ioctls are not for channel fds. */
static long op_create(int fd)
{
	struct kchan_create req;

	chan_req_init(&req, "never", 1, 0, 0, 0);
	return errno_or(ioctl(fd, KCHAN_IOC_CREATE, &req));
}

static long op_make(int fd)
{
	struct kchan_create req;
	int r;

	chan_req_init(&req, "", 1, 0, 0, 0);
	r = ioctl(fd, KCHAN_IOC_MAKE, &req);
	if (r >= 0)
		close(r);
	return errno_or(r);
}

static long op_name(int fd, unsigned long cmd)
{
	struct kchan_name req;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	strcpy(req.name, "never");
	return errno_or(ioctl(fd, cmd, &req));
}

static long op_destroy(int fd)
{
	return op_name(fd, KCHAN_IOC_DESTROY);
}

static long op_close_name(int fd)
{
	return op_name(fd, KCHAN_IOC_CLOSE_NAME);
}

/* ----- the matrix ------------------------------------------------------- */

/*
 * Each row: the KCHAN_IOC_ name it covers (NULL for a plain system call),
 * what it does, and the result per channel kind and open mode: a count or
 * length (>= 0) or -errno.  The buffered channel (capacity CAP) has one
 * message "m" queued and room; the unbuffered one has nobody waiting, so a
 * transfer that is allowed finds no counterpart: EAGAIN.
 */
struct cell_op {
	const char *ioc;
	const char *what;
	long (*fn)(int fd);
	long expect[2][NMODES];	/* [buffered][mode] */
};

#define UNBUF	0
#define BUF	1
/* Results as { O_RDONLY, O_WRONLY, O_RDWR } for unbuffered, then buffered. */
#define EXPECT(u_rd, u_wr, u_rw, b_rd, b_wr, b_rw) \
	{ { u_rd, u_wr, u_rw }, { b_rd, b_wr, b_rw } }
#define RD_ONLY(u, b)	EXPECT(u, -EBADF, u, b, -EBADF, b)	/* needs FMODE_READ */
#define WR_ONLY(u, b)	EXPECT(-EBADF, u, u, -EBADF, b, b)	/* needs FMODE_WRITE */
#define ANY(r)		EXPECT(r, r, r, r, r, r)

static const struct cell_op matrix[] = {
	{ NULL, "read()", op_read, RD_ONLY(-EAGAIN, 1) },
	{ NULL, "readv()", op_readv, RD_ONLY(-EAGAIN, 1) },
	{ NULL, "write()", op_write, WR_ONLY(-EAGAIN, 1) },
	{ NULL, "writev()", op_writev, WR_ONLY(-EAGAIN, 1) },
	{ "KCHAN_IOC_SEND_BATCH", "send batch of 1", op_send_batch, WR_ONLY(-EAGAIN, 1) },
	{ "KCHAN_IOC_RECV_BATCH", "recv batch of 1", op_recv_batch, RD_ONLY(-EAGAIN, 1) },
	{ "KCHAN_IOC_SELECT", "select, recv case", op_select_recv, RD_ONLY(-EAGAIN, 0) },
	{ "KCHAN_IOC_SELECT", "select, send case", op_select_send, WR_ONLY(-EAGAIN, 0) },
	{ "KCHAN_IOC_HOLD", "hold", op_hold, RD_ONLY(-EAGAIN, 1) },
	{ "KCHAN_IOC_ACK", "ack (nothing held)", op_ack, RD_ONLY(0, 0) },
	{ "KCHAN_IOC_RETURN", "return (nothing held)", op_return, RD_ONLY(0, 0) },
	{ "KCHAN_IOC_SEND_ONCE", "send once", op_send_once, WR_ONLY(-EAGAIN, 0) },
	{ "KCHAN_IOC_STREAM_SEQ", "stream seq", op_stream_seq, ANY(0) },
	{ "KCHAN_IOC_STREAM_SEQ", "stream seq, FORGET", op_stream_forget, WR_ONLY(0, 0) },
	{ "KCHAN_IOC_CLOSE", "close", op_close, WR_ONLY(0, 0) },
	{ "KCHAN_IOC_INFO", "info", op_info, ANY(0) },
	{ "KCHAN_IOC_CREATE", "create (control only)", op_create, ANY(-ENOTTY) },
	{ "KCHAN_IOC_MAKE", "make anonymous (control only)", op_make, ANY(-ENOTTY) },
	{ "KCHAN_IOC_DESTROY", "destroy (control only)", op_destroy, ANY(-ENOTTY) },
	{ "KCHAN_IOC_CLOSE_NAME", "close by name (control only)", op_close_name, ANY(-ENOTTY) },
};

#define NOPS	(sizeof(matrix) / sizeof(matrix[0]))

static bool same_state(const struct kchan_info *a, const struct kchan_info *b)
{
	return a->state == b->state && a->length == b->length &&
	       a->sent == b->sent && a->received == b->received &&
	       a->held == b->held;
}

/*
 * Runs one cell on a channel of its own; the result, and in *changed
 * whether the channel's state moved (a refused call must not move it).
 * Setup failures come back as -100000 - errno.
 */
static long run_cell(int ctl, const struct cell_op *op, int buffered, int mode,
		     bool *changed)
{
	struct kchan_info before, after;
	char name[KCHAN_NAME_MAX];
	int rw, fd;
	long ret;

	*changed = false;
	chan_make_name(name);
	ret = chan_create(ctl, name, buffered ? CAP : 0, MAX, 0, 0);
	if (ret)
		return -100000 + ret;
	rw = chan_open(name, O_RDWR | O_NONBLOCK);
	fd = chan_open(name, mode_flags[mode] | O_NONBLOCK);
	if (rw < 0 || fd < 0) {
		ret = -100000 + (rw < 0 ? rw : fd);
		goto out;
	}
	if (buffered && write(rw, "m", 1) != 1) {
		ret = -100000 - errno;
		goto out;
	}
	chan_info(rw, &before);
	ret = op->fn(fd);
	chan_info(rw, &after);
	*changed = !same_state(&before, &after);
out:
	if (fd >= 0)
		close(fd);
	if (rw >= 0)
		close(rw);
	chan_destroy(ctl, name);
	return ret;
}

static const char *result_str(long r, char *buf, size_t len)
{
	if (r >= 0)
		snprintf(buf, len, "%ld", r);
	else if (r == WRONG_SELECT)
		snprintf(buf, len, "wrong select index/length");
	else if (r > -4096)
		snprintf(buf, len, "-%s", strerrorname_np(-r) ?: "?");
	else
		snprintf(buf, len, "setup failed (%ld)", r);
	return buf;
}

FIXTURE(access) {
	int ctl;
};

FIXTURE_VARIANT(access) {
	int buffered;
};

FIXTURE_VARIANT_ADD(access, unbuffered) { .buffered = UNBUF };
FIXTURE_VARIANT_ADD(access, buffered) { .buffered = BUF };

FIXTURE_SETUP(access)
{
	self->ctl = -1;
	CHAN_SKIP_IF_ABSENT();
	chan_ignore(SIGPIPE);
	chan_leaks_begin();
	self->ctl = chan_ctl_open();
	ASSERT_LE(0, self->ctl);
}

FIXTURE_TEARDOWN(access)
{
	if (self->ctl >= 0)
		close(self->ctl);
	chan_leaks_end();
}

/* Every cell; every mismatch is logged, then the test fails. */
TEST_F(access, matrix)
{
	unsigned int i, bad = 0;
	int m;

	for (i = 0; i < NOPS; i++) {
		for (m = 0; m < NMODES; m++) {
			long want = matrix[i].expect[variant->buffered][m];
			char gs[64], ws[64];
			bool changed;
			long got = run_cell(self->ctl, &matrix[i], variant->buffered, m,
					    &changed);

			if (got != want) {
				bad++;
				TH_LOG("%s on %s: got %s, want %s", matrix[i].what,
				       mode_name[m], result_str(got, gs, sizeof(gs)),
				       result_str(want, ws, sizeof(ws)));
			} else if (want < 0 && changed) {
				bad++;
				TH_LOG("%s on %s: refused (%s) but the channel's state changed",
				       matrix[i].what, mode_name[m],
				       result_str(got, gs, sizeof(gs)));
			}
		}
	}
	EXPECT_EQ(0, bad) TH_LOG("%u of %u cells wrong", bad, (unsigned int)(NOPS * NMODES));
}

/*
 * Every "#define KCHAN_IOC_<NAME> _IO..." in the uapi header this was built
 * with has a row in the matrix.
 */
TEST(uapi_ioctls_all_in_matrix)
{
	FILE *f = fopen(KCHAN_UAPI_H, "r");
	char line[512], name[128];
	int found = 0, missing = 0;

	ASSERT_NE(NULL, f) TH_LOG("open %s: %m", KCHAN_UAPI_H);
	while (fgets(line, sizeof(line), f)) {
		char val[16];
		unsigned int i;
		bool have = false;

		if (sscanf(line, " # define %127[A-Za-z0-9_] %15s", name, val) != 2)
			continue;
		if (strncmp(name, "KCHAN_IOC_", 10) || strncmp(val, "_IO", 3))
			continue;
		found++;
		for (i = 0; i < NOPS; i++)
			if (matrix[i].ioc && !strcmp(matrix[i].ioc, name))
				have = true;
		if (!have) {
			missing++;
			TH_LOG("%s (%s) has no row in the access matrix", name, KCHAN_UAPI_H);
		}
	}
	fclose(f);
	/* CREATE DESTROY CLOSE_NAME SELECT CLOSE INFO SEND_BATCH RECV_BATCH
	 * HOLD ACK RETURN SEND_ONCE STREAM_SEQ at least: the parse works. */
	EXPECT_LE(13, found);
	EXPECT_EQ(0, missing);
}

/*
 * The control node (0666) takes its ioctls whatever its file's open mode,
 * as KCHAN_IOC_CREATE always has: KCHAN_IOC_MAKE too, on an O_RDONLY or
 * O_WRONLY file as on O_RDWR, and the anonymous channel's fd is O_RDWR
 * anyway.  Channel ioctls mean nothing there (ENOTTY).
 */
TEST(control_node_any_open_mode)
{
	static const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR };
	char name[KCHAN_NAME_MAX], b[8];
	struct kchan_create req;
	struct kchan_info info;
	unsigned int i;
	int ctl, fd;

	CHAN_SKIP_IF_ABSENT();
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		ctl = open(KCHAN_CONTROL_PATH, modes[i] | O_CLOEXEC);
		ASSERT_LE(0, ctl) TH_LOG("open mode %d: %m", modes[i]);
		chan_make_name(name);
		EXPECT_EQ(0, chan_create(ctl, name, 1, 0, 0, 0)) TH_LOG("mode %d", modes[i]);
		EXPECT_EQ(0, chan_close_name(ctl, name)) TH_LOG("mode %d", modes[i]);
		EXPECT_EQ(0, chan_destroy(ctl, name)) TH_LOG("mode %d", modes[i]);

		chan_req_init(&req, "", 1, 0, 0, KCHAN_MAKE_NONBLOCK);
		fd = ioctl(ctl, KCHAN_IOC_MAKE, &req);
		EXPECT_LE(0, fd) TH_LOG("MAKE on a control fd of mode %d: %m", modes[i]);
		if (fd >= 0) {
			EXPECT_EQ(O_RDWR | O_NONBLOCK, fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
			EXPECT_EQ(2, write(fd, "ok", 2));
			EXPECT_EQ(2, read(fd, b, sizeof(b)));
			ASSERT_EQ(0, chan_info(fd, &info));
			EXPECT_EQ(1, info.readers);
			EXPECT_EQ(1, info.writers);
			close(fd);
		}
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		EXPECT_EQ(-ENOTTY, errno_or(ioctl(ctl, KCHAN_IOC_INFO, &info)));
		EXPECT_EQ(-ENOTTY, errno_or(ioctl(ctl, KCHAN_IOC_CLOSE)));
		close(ctl);
	}
}

/*
 * An O_RDONLY fd is not a writer: on an autoclose channel with only it
 * open, SEND_BATCH (like write()) is refused and queues nothing.
 */
TEST(autoclose_rdonly_fd_cannot_send_batch)
{
	char name[KCHAN_NAME_MAX];
	struct kchan_info info;
	int ctl, fd;

	CHAN_SKIP_IF_ABSENT();
	ctl = chan_ctl_open();
	ASSERT_LE(0, ctl);
	chan_make_name(name);
	ASSERT_EQ(0, chan_create(ctl, name, CAP, MAX, 0, KCHAN_CREATE_AUTOCLOSE));
	fd = chan_open(name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);

	EXPECT_EQ(-EBADF, op_send_batch(fd));
	EXPECT_EQ(-EBADF, op_write(fd));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(0, info.sent);
	EXPECT_EQ(0, info.writers);
	EXPECT_EQ(0, info.state & KCHAN_STATE_CLOSED);
	EXPECT_EQ(-EAGAIN, op_read(fd));

	close(fd);
	EXPECT_EQ(0, chan_destroy(ctl, name));
	close(ctl);
}

TEST_HARNESS_MAIN

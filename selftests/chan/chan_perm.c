// SPDX-License-Identifier: GPL-2.0
/*
 * The security model (issue 3): a channel's node belongs to its creator
 * with the requested mode; only the owner or a CAP_SYS_ADMIN caller may
 * close or destroy it by name; per-user limits on channels and buffer
 * bytes (EDQUOT, the instance's max_user and max_user_bytes mount
 * options), charged until the last fd of a destroyed channel is closed;
 * the instance's max (ENOSPC); a destroyed name free at once, while files
 * of the old channel are open, without the two channels ever mixing; and
 * bad requests from an unprivileged user get their documented errno and
 * change nothing.
 *
 * Runs as root.  Each unprivileged user is an "agent": a helper process
 * that drops to that uid/gid and then performs requests sent to it over a
 * socket, so its open files live across requests and every answer is
 * checked in the test itself.
 */
#include "chan_test.h"

#include <dirent.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/capability.h>

#define USER_A		65534	/* nobody / nogroup */
#define USER_B		60001
#define AGENT_GUARD	300	/* seconds an agent may live */
#define MAX_NAMES	16
#define DATA_MAX	512
/* An agent's answer when the agent itself is gone. */
#define AG_DEAD		(-99999L)

/* The module's global limits; the instance's are /dev/chan's mount options. */
static const char *const params[] = {
	"max_capacity", "max_msg_size",
};
#define NPARAMS	(sizeof(params) / sizeof(params[0]))

/* ----- agents: requests carried out as another user ------------------- */

enum ag_op {
	AG_CREATE,	/* name, capacity, msg_max, mode, cflags, period_ns */
	AG_DESTROY,	/* name */
	AG_CLOSE_NAME,	/* name */
	AG_OPEN,	/* name, flags: the agent's fd */
	AG_CLOSE_FD,	/* fd */
	AG_WRITE,	/* fd, data, len */
	AG_READ,	/* fd: the message in data */
	AG_IOCTL,	/* fd (-1: the agent's control fd), cmd, data or NULL */
	AG_INFO,	/* fd */
};

struct ag_req {
	int op;
	int fd;
	int flags;
	int null_arg;		/* AG_IOCTL: pass NULL instead of data */
	unsigned long cmd;
	__u32 capacity, msg_max, mode, cflags;
	__u64 period_ns;
	char name[KCHAN_NAME_MAX];
	size_t len;
	char data[DATA_MAX];
};

struct ag_resp {
	long ret;		/* >= 0, or -errno */
	struct kchan_info info;
	char data[DATA_MAX];
};

struct agent {
	pid_t pid;
	int sock;
	uid_t uid;
};

static long ag_do(int ctl, const struct ag_req *q, struct ag_resp *r)
{
	struct kchan_create cr;
	char buf[DATA_MAX];
	long n;

	switch (q->op) {
	case AG_CREATE:
		chan_req_init(&cr, q->name, q->capacity, q->msg_max, q->mode, q->cflags);
		cr.period_ns = q->period_ns;
		return chan_ioctl(ctl, KCHAN_IOC_CREATE, &cr);
	case AG_DESTROY:
		return chan_destroy(ctl, q->name);
	case AG_CLOSE_NAME:
		return chan_close_name(ctl, q->name);
	case AG_OPEN:
		return chan_open(q->name, q->flags);
	case AG_CLOSE_FD:
		return close(q->fd) ? -errno : 0;
	case AG_WRITE:
		n = write(q->fd, q->data, q->len);
		return n < 0 ? -errno : n;
	case AG_READ:
		n = read(q->fd, r->data, sizeof(r->data));
		return n < 0 ? -errno : n;
	case AG_IOCTL:
		memcpy(buf, q->data, sizeof(buf));
		n = chan_ioctl(q->fd < 0 ? ctl : q->fd, q->cmd,
			       q->null_arg ? chan_null() : buf);
		memcpy(r->data, buf, sizeof(r->data));
		return n;
	case AG_INFO:
		return chan_info(q->fd, &r->info);
	}
	return -EINVAL;
}

/* The agent: drop to uid/gid (no groups, no capabilities), then serve. */
static void __attribute__((noreturn)) agent_main(int sock, uid_t uid, gid_t gid)
{
	struct ag_req q;
	struct ag_resp r;
	int ctl;

	alarm(AGENT_GUARD);
	/* Keep no other agent's socket open, or that agent never sees EOF. */
	for (ctl = 3; ctl < 1024; ctl++)
		if (ctl != sock)
			close(ctl);
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid) ||
	    geteuid() != uid)
		_exit(100);
	ctl = chan_ctl_open();
	if (ctl < 0)
		_exit(101);
	while (recv(sock, &q, sizeof(q), 0) == sizeof(q)) {
		memset(&r, 0, sizeof(r));
		r.ret = ag_do(ctl, &q, &r);
		if (send(sock, &r, sizeof(r), 0) != sizeof(r))
			break;
	}
	_exit(0);
}

static int agent_start(struct agent *a, uid_t uid, gid_t gid)
{
	int sv[2];

	a->uid = uid;
	a->pid = -1;
	a->sock = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	a->pid = chan_fork();
	if (a->pid < 0)
		return -errno;
	if (a->pid == 0) {
		close(sv[0]);
		agent_main(sv[1], uid, gid);
	}
	close(sv[1]);
	a->sock = sv[0];
	return 0;
}

static void agent_stop(struct agent *a)
{
	if (a->sock >= 0)
		close(a->sock);	/* the agent sees EOF and exits */
	if (a->pid > 0)
		chan_reap(a->pid);
	a->sock = -1;
	a->pid = -1;
}

/* One request; the answer's ret, or AG_DEAD. */
static long ag_call(struct agent *a, struct ag_req *q, struct ag_resp *r)
{
	struct ag_resp local;

	if (!r)
		r = &local;
	if (send(a->sock, q, sizeof(*q), 0) != sizeof(*q) ||
	    recv(a->sock, r, sizeof(*r), 0) != sizeof(*r)) {
		ksft_print_msg("agent uid %d is gone\n", (int)a->uid);
		return AG_DEAD;
	}
	return r->ret;
}

static void ag_named(struct ag_req *q, int op, const char *name)
{
	memset(q, 0, sizeof(*q));
	q->op = op;
	q->fd = -1;
	strncpy(q->name, name, sizeof(q->name) - 1);
}

static long ag_create(struct agent *a, const char *name, __u32 capacity,
		      __u32 msg_max, __u32 mode)
{
	struct ag_req q;

	ag_named(&q, AG_CREATE, name);
	q.capacity = capacity;
	q.msg_max = msg_max;
	q.mode = mode;
	return ag_call(a, &q, NULL);
}

static long ag_create_timer(struct agent *a, const char *name, __u64 period_ns)
{
	struct ag_req q;

	ag_named(&q, AG_CREATE, name);
	q.cflags = KCHAN_CREATE_AFTER;
	q.period_ns = period_ns;
	return ag_call(a, &q, NULL);
}

static long ag_destroy(struct agent *a, const char *name)
{
	struct ag_req q;

	ag_named(&q, AG_DESTROY, name);
	return ag_call(a, &q, NULL);
}

static long ag_close_name(struct agent *a, const char *name)
{
	struct ag_req q;

	ag_named(&q, AG_CLOSE_NAME, name);
	return ag_call(a, &q, NULL);
}

static long ag_open(struct agent *a, const char *name, int flags)
{
	struct ag_req q;

	ag_named(&q, AG_OPEN, name);
	q.flags = flags;
	return ag_call(a, &q, NULL);
}

static long ag_fd_op(struct agent *a, int op, long fd)
{
	struct ag_req q;

	ag_named(&q, op, "");
	q.fd = fd;
	return ag_call(a, &q, NULL);
}

static long ag_close(struct agent *a, long fd)
{
	return ag_fd_op(a, AG_CLOSE_FD, fd);
}

static long ag_write(struct agent *a, long fd, const char *msg)
{
	struct ag_req q;

	ag_named(&q, AG_WRITE, "");
	q.fd = fd;
	q.len = strlen(msg);
	memcpy(q.data, msg, q.len);
	return ag_call(a, &q, NULL);
}

/* Reads one message into out (NUL-terminated): its length or -errno. */
static long ag_read(struct agent *a, long fd, char *out)
{
	struct ag_resp r;
	struct ag_req q;
	long n;

	ag_named(&q, AG_READ, "");
	q.fd = fd;
	n = ag_call(a, &q, &r);
	out[0] = '\0';
	if (n >= 0 && n < DATA_MAX) {
		memcpy(out, r.data, n);
		out[n] = '\0';
	}
	return n;
}

/* ioctl(control fd, cmd, a copy of arg) as the agent; arg NULL passes NULL. */
static long ag_ioctl(struct agent *a, unsigned long cmd, const void *arg, size_t len)
{
	struct ag_req q;

	ag_named(&q, AG_IOCTL, "");
	q.cmd = cmd;
	q.null_arg = !arg;
	if (arg)
		memcpy(q.data, arg, len < DATA_MAX ? len : DATA_MAX);
	return ag_call(a, &q, NULL);
}

static long ag_fd_ioctl(struct agent *a, long fd, unsigned long cmd)
{
	struct ag_req q;

	ag_named(&q, AG_IOCTL, "");
	q.fd = fd;
	q.cmd = cmd;
	return ag_call(a, &q, NULL);
}

/* ----- the fixture ---------------------------------------------------- */

/*
 * The limits as they were when the program started, read before any test
 * runs: a test killed by its timeout cannot restore them, so every setup
 * restores them first.
 */
static unsigned long initial_params[NPARAMS];
static struct chan_limits initial_limits;
static bool initial_params_ok;

static void __attribute__((constructor)) save_initial_params(void)
{
	unsigned int i;

	for (i = 0; i < NPARAMS; i++)
		if (chan_param_get(params[i], &initial_params[i]))
			return;
	if (chan_limits_get(&initial_limits))
		return;
	initial_params_ok = true;
}

static void restore_params(void)
{
	unsigned int i;

	if (initial_params_ok) {
		for (i = 0; i < NPARAMS; i++)
			chan_param_set(params[i], initial_params[i]);
		chan_limits_set(&initial_limits);
	}
}

/* Destroys what a killed test of ours left: every channel USER_A or USER_B owns. */
static void destroy_leftovers(int ctl)
{
	DIR *d = opendir(KCHAN_DEV_DIR);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;

		if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, 0))
			continue;
		if (st.st_uid == USER_A || st.st_uid == USER_B)
			chan_destroy(ctl, e->d_name);
	}
	closedir(d);
}

FIXTURE(perm) {
	int ctl;
	struct agent a, b;
	char names[MAX_NAMES][KCHAN_NAME_MAX];
	int nnames;
};

FIXTURE_SETUP(perm)
{
	self->ctl = -1;
	self->nnames = 0;
	self->a.pid = self->b.pid = -1;
	self->a.sock = self->b.sock = -1;
	CHAN_SKIP_IF_ABSENT();
	if (geteuid())
		SKIP(return, "needs root (to act as other users and set the limits)");
	chan_ignore(SIGPIPE);
	self->ctl = chan_ctl_open();
	ASSERT_LE(0, self->ctl) TH_LOG("open " KCHAN_CONTROL_PATH ": %m");
	ASSERT_TRUE(initial_params_ok) TH_LOG("cannot read " CHAN_PARAM_DIR " or the " KCHAN_DEV_DIR " mount");
	restore_params();
	destroy_leftovers(self->ctl);
	chan_leaks_begin();
	ASSERT_EQ(0, agent_start(&self->a, USER_A, USER_A));
	ASSERT_EQ(0, agent_start(&self->b, USER_B, USER_B));
}

FIXTURE_TEARDOWN(perm)
{
	int n;

	agent_stop(&self->a);
	agent_stop(&self->b);
	if (self->ctl < 0)
		return;
	for (n = 0; n < self->nnames; n++)
		chan_destroy(self->ctl, self->names[n]);
	restore_params();
	close(self->ctl);
	chan_leaks_end();
}

/* A fresh channel name, destroyed (as root) in teardown. */
static const char *new_name(FIXTURE_DATA(perm) *self)
{
	char *name = self->names[self->nnames++];

	chan_make_name(name);
	return name;
}

static int node_stat(const char *name, struct stat *st)
{
	char path[PATH_MAX];

	chan_path(path, sizeof(path), name);
	return stat(path, st) ? -errno : 0;
}

static bool node_exists(const char *name)
{
	struct stat st;

	return node_stat(name, &st) == 0;
}

/* Channels listed in /dev/chan (live, named ones), or -errno. */
static int count_channels(void)
{
	return chan_list(NULL, NULL);
}

/* ---------------------------------------------------------------------- */
/* Ownership and mode.                                                     */

TEST_F_TIMEOUT(perm, node_belongs_to_its_creator_with_the_requested_mode, CHAN_TIMEOUT)
{
	const char *n1 = new_name(self), *n2 = new_name(self), *n3 = new_name(self);
	struct stat st;

	ASSERT_EQ(0, ag_create(&self->a, n1, 1, 0, 0640));
	ASSERT_EQ(0, node_stat(n1, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0640, st.st_mode & 07777);
	EXPECT_EQ(USER_A, st.st_uid);
	EXPECT_EQ(USER_A, st.st_gid);
	EXPECT_TRUE(chan_listed(n1));

	/* Mode 0 means 0600. */
	ASSERT_EQ(0, ag_create(&self->a, n2, 0, 0, 0));
	ASSERT_EQ(0, node_stat(n2, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);

	ASSERT_EQ(0, ag_create(&self->b, n3, 0, 0, 0604));
	ASSERT_EQ(0, node_stat(n3, &st));
	EXPECT_EQ(0604, st.st_mode & 07777);
	EXPECT_EQ(USER_B, st.st_uid);
	EXPECT_EQ(USER_B, st.st_gid);
}

TEST_F_TIMEOUT(perm, other_user_cannot_open_a_0600_channel, CHAN_TIMEOUT)
{
	const char *n = new_name(self);
	char b[DATA_MAX];
	long fa;
	int fd;

	ASSERT_EQ(0, ag_create(&self->a, n, 2, 0, 0600));
	fa = ag_open(&self->a, n, O_RDWR);
	ASSERT_LE(0, fa);
	ASSERT_EQ(6, ag_write(&self->a, fa, "secret"));
	EXPECT_EQ(-EACCES, ag_open(&self->b, n, O_RDONLY));
	EXPECT_EQ(-EACCES, ag_open(&self->b, n, O_WRONLY));
	EXPECT_EQ(-EACCES, ag_open(&self->b, n, O_RDWR));
	/* Root (CAP_DAC_OVERRIDE) may. */
	fd = chan_open(n, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, chan_len(fd));
	EXPECT_EQ(6, read(fd, b, sizeof(b)));
	close(fd);
	/* Nor through the group: B is not in A's group. */
	EXPECT_EQ(0, chan_destroy(self->ctl, n));
	ASSERT_EQ(0, ag_close(&self->a, fa));
	ASSERT_EQ(0, ag_create(&self->a, n, 2, 0, 0660));
	EXPECT_EQ(-EACCES, ag_open(&self->b, n, O_RDONLY));
}

TEST_F_TIMEOUT(perm, other_user_may_open_a_0666_channel, CHAN_TIMEOUT)
{
	const char *n = new_name(self), *ro = new_name(self);
	char b[DATA_MAX];
	long fa, fb;

	ASSERT_EQ(0, ag_create(&self->a, n, 2, 0, 0666));
	fa = ag_open(&self->a, n, O_RDWR | O_NONBLOCK);
	fb = ag_open(&self->b, n, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	ASSERT_EQ(2, ag_write(&self->a, fa, "a1"));
	EXPECT_EQ(2, ag_read(&self->b, fb, b));
	EXPECT_STREQ("a1", b);
	ASSERT_EQ(2, ag_write(&self->b, fb, "b1"));
	EXPECT_EQ(2, ag_read(&self->a, fa, b));
	EXPECT_STREQ("b1", b);
	EXPECT_STREQ("2\n", chan_attr(n, "readers", b, sizeof(b)));
	EXPECT_STREQ("2\n", chan_attr(n, "writers", b, sizeof(b)));

	/* 0604: others may read, not write. */
	ASSERT_EQ(0, ag_create(&self->a, ro, 2, 0, 0604));
	EXPECT_EQ(-EACCES, ag_open(&self->b, ro, O_WRONLY));
	EXPECT_EQ(-EACCES, ag_open(&self->b, ro, O_RDWR));
	fb = ag_open(&self->b, ro, O_RDONLY);
	EXPECT_LE(0, fb);
}

/* ---------------------------------------------------------------------- */
/* Close and destroy by name.                                             */

TEST_F_TIMEOUT(perm, other_user_close_and_destroy_by_name_eperm_nothing_changes, CHAN_TIMEOUT)
{
	const char *n = new_name(self);
	struct kchan_info info;
	char b[DATA_MAX];
	long fa, fb;
	int fd;

	ASSERT_EQ(0, ag_create(&self->a, n, 4, 0, 0666));
	fa = ag_open(&self->a, n, O_RDWR | O_NONBLOCK);
	fb = ag_open(&self->b, n, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	ASSERT_EQ(2, ag_write(&self->a, fa, "m1"));
	ASSERT_EQ(2, ag_write(&self->a, fa, "m2"));

	EXPECT_EQ(-EPERM, ag_close_name(&self->b, n));
	EXPECT_EQ(-EPERM, ag_destroy(&self->b, n));
	/* Unknown names stay ENOENT for everyone. */
	EXPECT_EQ(-ENOENT, ag_destroy(&self->b, "no-such-channel"));
	EXPECT_EQ(-ENOENT, ag_close_name(&self->b, "no-such-channel"));

	EXPECT_TRUE(node_exists(n));
	EXPECT_TRUE(chan_listed(n));
	fd = chan_open(n, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(2, info.length);
	close(fd);
	/* Both users' files still work; the messages are intact, in order. */
	EXPECT_EQ(2, ag_read(&self->b, fb, b));
	EXPECT_STREQ("m1", b);
	EXPECT_EQ(2, ag_read(&self->a, fa, b));
	EXPECT_STREQ("m2", b);
	EXPECT_EQ(1, ag_write(&self->b, fb, "b"));
	/* The owner may. */
	EXPECT_EQ(0, ag_close_name(&self->a, n));
	EXPECT_EQ(1, ag_read(&self->b, fb, b));
	EXPECT_EQ(0, ag_read(&self->b, fb, b));
	EXPECT_EQ(0, ag_destroy(&self->a, n));
	EXPECT_EQ(-ENODEV, ag_read(&self->b, fb, b));
	EXPECT_FALSE(node_exists(n));
}

/* KCHAN_IOC_CLOSE needs only an fd open for writing, whoever holds it. */
TEST_F_TIMEOUT(perm, any_writer_fd_may_close, CHAN_TIMEOUT)
{
	const char *n = new_name(self);
	char b[DATA_MAX];
	long fa, fr, fw;

	ASSERT_EQ(0, ag_create(&self->a, n, 1, 0, 0666));
	fa = ag_open(&self->a, n, O_RDONLY);
	fr = ag_open(&self->b, n, O_RDONLY);
	fw = ag_open(&self->b, n, O_WRONLY);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fr);
	ASSERT_LE(0, fw);
	EXPECT_EQ(-EBADF, ag_fd_ioctl(&self->b, fr, KCHAN_IOC_CLOSE));
	EXPECT_EQ(0, ag_fd_ioctl(&self->b, fw, KCHAN_IOC_CLOSE));
	EXPECT_EQ(0, ag_read(&self->a, fa, b));
}

TEST_F_TIMEOUT(perm, root_may_close_and_destroy_any_channel, CHAN_TIMEOUT)
{
	const char *n = new_name(self);
	char b[DATA_MAX];
	long fa;

	ASSERT_EQ(0, ag_create(&self->a, n, 2, 0, 0600));
	fa = ag_open(&self->a, n, O_RDWR);
	ASSERT_LE(0, fa);
	ASSERT_EQ(1, ag_write(&self->a, fa, "x"));
	EXPECT_EQ(0, chan_close_name(self->ctl, n));
	EXPECT_EQ(1, ag_read(&self->a, fa, b));
	EXPECT_EQ(0, ag_read(&self->a, fa, b));
	EXPECT_EQ(0, chan_destroy(self->ctl, n));
	EXPECT_EQ(-ENODEV, ag_read(&self->a, fa, b));
	EXPECT_FALSE(node_exists(n));
	EXPECT_FALSE(chan_listed(n));
}

static int set_effective_caps(__u32 caps)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective = caps & d[0].permitted;
	d[1].effective = 0;
	return syscall(SYS_capset, &h, d) ? -1 : 0;
}

/*
 * The privilege is CAP_SYS_ADMIN, not uid 0: root without it is refused,
 * another user with it (kept across setuid) is let through.
 */
TEST_F_TIMEOUT(perm, cap_sys_admin_decides_not_uid, CHAN_TIMEOUT)
{
	const char *n = new_name(self);
	pid_t pid;

	ASSERT_EQ(0, ag_create(&self->a, n, 0, 0, 0600));
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ctl = chan_ctl_open();

		if (ctl < 0 || set_effective_caps(~(1u << CAP_SYS_ADMIN)))
			_exit(100);
		if (chan_destroy(ctl, n) != -EPERM)
			_exit(1);
		_exit(chan_close_name(ctl, n) == -EPERM ? 0 : 2);
	}
	EXPECT_EQ(0, chan_reap(pid)) TH_LOG("uid 0 without CAP_SYS_ADMIN was not refused");
	EXPECT_TRUE(node_exists(n));

	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ctl;

		if (prctl(PR_SET_KEEPCAPS, 1) || setgroups(0, NULL) ||
		    setresgid(USER_B, USER_B, USER_B) || setresuid(USER_B, USER_B, USER_B) ||
		    set_effective_caps(1u << CAP_SYS_ADMIN))
			_exit(100);
		ctl = chan_ctl_open();
		if (ctl < 0)
			_exit(101);
		if (chan_close_name(ctl, n))
			_exit(1);
		_exit(chan_destroy(ctl, n) ? 2 : 0);
	}
	EXPECT_EQ(0, chan_reap(pid)) TH_LOG("uid %d with CAP_SYS_ADMIN was refused", USER_B);
	EXPECT_FALSE(node_exists(n));
}

/* ---------------------------------------------------------------------- */
/* Per-user and global limits.                                            */

TEST_F_TIMEOUT(perm, per_user_channel_limit_edquot, CHAN_TIMEOUT)
{
	const char *a1 = new_name(self), *a2 = new_name(self), *a3 = new_name(self);
	const char *a4 = new_name(self), *b1 = new_name(self), *b2 = new_name(self);
	const char *b3 = new_name(self), *r1 = new_name(self);

	ASSERT_EQ(0, chan_limit_set("max_user", 2));
	EXPECT_EQ(0, ag_create(&self->a, a1, 0, 0, 0));
	EXPECT_EQ(0, ag_create(&self->a, a2, 0, 0, 0));
	EXPECT_EQ(-EDQUOT, ag_create(&self->a, a3, 0, 0, 0));
	EXPECT_FALSE(node_exists(a3));
	EXPECT_FALSE(chan_listed(a3));
	/* Another user, and root, have their own count. */
	EXPECT_EQ(0, ag_create(&self->b, b1, 0, 0, 0));
	EXPECT_EQ(0, ag_create(&self->b, b2, 0, 0, 0));
	EXPECT_EQ(-EDQUOT, ag_create(&self->b, b3, 0, 0, 0));
	EXPECT_EQ(0, chan_create(self->ctl, r1, 0, 0, 0, 0));
	/* Destroying one gives the quota back. */
	EXPECT_EQ(0, ag_destroy(&self->a, a1));
	EXPECT_EQ(0, ag_create(&self->a, a3, 0, 0, 0));
	EXPECT_EQ(-EDQUOT, ag_create(&self->a, a4, 0, 0, 0));
	/* A destroy by root gives it back too. */
	EXPECT_EQ(0, chan_destroy(self->ctl, a2));
	EXPECT_EQ(0, ag_create(&self->a, a4, 0, 0, 0));
	EXPECT_EQ(-EDQUOT, ag_create(&self->a, a1, 0, 0, 0));
	/* A new limit applies at once. */
	ASSERT_EQ(0, chan_limit_set("max_user", 3));
	EXPECT_EQ(0, ag_create(&self->a, a1, 0, 0, 0));
	ASSERT_EQ(0, chan_limit_set("max_user", 1));
	EXPECT_EQ(-EDQUOT, ag_create(&self->b, b3, 0, 0, 0));
}

TEST_F_TIMEOUT(perm, per_user_byte_limit_edquot, CHAN_TIMEOUT)
{
	const char *e1 = new_name(self), *e2 = new_name(self), *e3 = new_name(self);
	const char *t1 = new_name(self), *b1 = new_name(self);

	ASSERT_EQ(0, chan_limit_set("max_user_bytes", 10000));
	/* max(capacity, 1) * msg_max each: 2 * 4096, then 1 * 1809 is one too many. */
	EXPECT_EQ(0, ag_create(&self->a, e1, 2, 4096, 0));
	EXPECT_EQ(-EDQUOT, ag_create(&self->a, e2, 0, 1809, 0));
	EXPECT_EQ(-EDQUOT, ag_create(&self->a, e2, 1, 1809, 0));
	EXPECT_FALSE(node_exists(e2));
	EXPECT_EQ(0, ag_create(&self->a, e2, 0, 1808, 0));	/* exactly 10000 */
	EXPECT_EQ(-EDQUOT, ag_create(&self->a, e3, 0, 1, 0));
	EXPECT_EQ(-EDQUOT, ag_create_timer(&self->a, t1, 100LL * 1000000000));
	/* Another user is unaffected. */
	EXPECT_EQ(0, ag_create(&self->b, b1, 2, 4096, 0));
	/* Destroying frees the bytes. */
	EXPECT_EQ(0, ag_destroy(&self->a, e1));
	EXPECT_EQ(0, ag_create(&self->a, e3, 8, 1024, 0));
	EXPECT_EQ(-EDQUOT, ag_create_timer(&self->a, t1, 100LL * 1000000000));
	EXPECT_EQ(0, ag_destroy(&self->a, e2));
	/* A timer channel is charged 1 * KCHAN_TIMER_MSG_MAX. */
	EXPECT_EQ(0, ag_create_timer(&self->a, t1, 100LL * 1000000000));
}

TEST_F_TIMEOUT(perm, destroyed_but_open_channel_is_uncharged, CHAN_TIMEOUT)
{
	const char *c1 = new_name(self), *c2 = new_name(self), *c3 = new_name(self);
	long fa;
	int fd;

	ASSERT_EQ(0, chan_limit_set("max_user", 1));
	ASSERT_EQ(0, ag_create(&self->a, c1, 1, 0, 0600));
	fa = ag_open(&self->a, c1, O_RDWR);
	ASSERT_LE(0, fa);
	ASSERT_EQ(0, ag_destroy(&self->a, c1));
	EXPECT_FALSE(node_exists(c1));
	/* The name and A's charge are free at once, while A's fd is open. */
	EXPECT_EQ(0, ag_create(&self->a, c1, 1, 0, 0));
	EXPECT_EQ(-EDQUOT, ag_create(&self->a, c2, 1, 0, 0));
	ASSERT_EQ(0, ag_destroy(&self->a, c1));
	ASSERT_EQ(0, ag_close(&self->a, fa));
	EXPECT_EQ(0, ag_create(&self->a, c2, 1, 0, 0));

	/* Whoever holds the last fd (here root) holds no charge of A's. */
	fd = chan_open(c2, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ag_destroy(&self->a, c2));
	EXPECT_EQ(0, ag_create(&self->a, c3, 1, 0, 0));
	close(fd);
	EXPECT_EQ(-EDQUOT, ag_create(&self->a, c1, 1, 0, 0));
}

TEST_F_TIMEOUT(perm, global_channel_limit_enospc, CHAN_TIMEOUT)
{
	const char *g1 = new_name(self), *g2 = new_name(self), *g3 = new_name(self);
	const char *g4 = new_name(self);
	int existing = count_channels();

	ASSERT_LE(0, existing);
	ASSERT_EQ(0, chan_limit_set("max", existing + 1));
	EXPECT_EQ(0, ag_create(&self->a, g1, 0, 0, 0));
	EXPECT_EQ(-ENOSPC, ag_create(&self->b, g2, 0, 0, 0));
	EXPECT_EQ(-ENOSPC, ag_create(&self->a, g3, 0, 0, 0));
	EXPECT_EQ(-ENOSPC, chan_create(self->ctl, g4, 0, 0, 0, 0));
	EXPECT_FALSE(node_exists(g2));
	EXPECT_FALSE(node_exists(g4));
	EXPECT_EQ(0, ag_destroy(&self->a, g1));
	EXPECT_EQ(0, ag_create(&self->b, g2, 0, 0, 0));
	EXPECT_EQ(existing + 1, count_channels());
}

/* ---------------------------------------------------------------------- */
/* Names.                                                                 */

/*
 * A destroyed name is free at once, even while another user has a file of
 * the old channel open (so a reader cannot pin its owner's name), and the
 * two channels never mix: the old file keeps failing with ENODEV.
 */
TEST_F_TIMEOUT(perm, names_free_at_once_while_an_old_channel_is_open, CHAN_TIMEOUT)
{
	const char *n = new_name(self);
	char b[DATA_MAX];
	struct stat st;
	long fb, fn;

	ASSERT_EQ(0, ag_create(&self->a, n, 1, 0, 0666));
	EXPECT_EQ(-EEXIST, ag_create(&self->b, n, 1, 0, 0666));
	EXPECT_EQ(-EEXIST, chan_create(self->ctl, n, 1, 0, 0, 0));
	fb = ag_open(&self->b, n, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fb);
	ASSERT_EQ(0, ag_destroy(&self->a, n));
	/* The old one is gone as far as names go. */
	EXPECT_EQ(-ENOENT, ag_destroy(&self->a, n));
	EXPECT_EQ(-ENOENT, chan_close_name(self->ctl, n));
	EXPECT_FALSE(node_exists(n));
	EXPECT_FALSE(chan_listed(n));
	/* Free at once, the old file still open: B takes it, and A may not destroy it. */
	ASSERT_EQ(0, ag_create(&self->b, n, 1, 0, 0));
	ASSERT_EQ(0, node_stat(n, &st));
	EXPECT_EQ(USER_B, st.st_uid);
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(-EPERM, ag_destroy(&self->a, n));
	EXPECT_EQ(-EEXIST, ag_create(&self->a, n, 1, 0, 0));
	EXPECT_EQ(-EACCES, ag_open(&self->a, n, O_RDONLY));
	/* The two never mix. */
	fn = ag_open(&self->b, n, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fn);
	ASSERT_EQ(3, ag_write(&self->b, fn, "new"));
	EXPECT_EQ(-ENODEV, ag_read(&self->b, fb, b));
	EXPECT_EQ(3, ag_read(&self->b, fn, b));
	EXPECT_STREQ("new", b);
	ASSERT_EQ(0, ag_close(&self->b, fb));
	/* Closing the old file leaves the new channel alone. */
	EXPECT_TRUE(node_exists(n));
	EXPECT_EQ(-EAGAIN, ag_read(&self->b, fn, b));
	EXPECT_EQ(1, ag_write(&self->b, fn, "x"));
	EXPECT_STREQ("1\n", chan_attr(n, "length", b, sizeof(b)));
	ASSERT_EQ(0, ag_close(&self->b, fn));
}

/* ---------------------------------------------------------------------- */
/* Bad requests from an unprivileged user change nothing.                */

TEST_F_TIMEOUT(perm, bad_requests_unprivileged_change_nothing, CHAN_TIMEOUT)
{
	static const char *const bad_names[] = {
		"", ".hidden", "a/b", "a b", "tab\t", "nl\n", "caf\xc3\xa9", "\xe9t\xe9",
		"semi;colon", "star*",
	};
	const char *victim = new_name(self), *mine = new_name(self), *more = new_name(self);
	struct {
		struct kchan_create c;
		__u64 tail[2];
	} big;
	struct kchan_create req;
	struct kchan_name nreq;
	struct kchan_info info;
	unsigned long max_cap, max_msg;
	char b[DATA_MAX];
	int before, fd;
	unsigned int i;

	ASSERT_EQ(0, chan_param_get("max_capacity", &max_cap));
	ASSERT_EQ(0, chan_param_get("max_msg_size", &max_msg));
	/* One channel each (max_user=1): a charge leaked by a failed request would show. */
	ASSERT_EQ(0, chan_limit_set("max_user", 1));
	ASSERT_EQ(0, ag_create(&self->b, victim, 2, 0, 0666));
	fd = chan_open(victim, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, write(fd, "v", 1));
	before = count_channels();

#define EXPECT_CREATE(err, r, what) \
	EXPECT_EQ(err, ag_ioctl(&self->a, KCHAN_IOC_CREATE, (r), sizeof(*(r)))) TH_LOG("%s", what)

	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		chan_req_init(&req, bad_names[i], 1, 0, 0, 0);
		EXPECT_CREATE(-EINVAL, &req, bad_names[i]);
	}
	chan_req_init(&req, "x", 1, 0, 0, 0);
	memset(req.name, 'n', sizeof(req.name));	/* 64 bytes, no NUL */
	EXPECT_CREATE(-EINVAL, &req, "64-byte name");

	chan_req_init(&req, mine, 1, 0, 0, 0);
	req.size = KCHAN_CREATE_SIZE_VER0 - 1;
	EXPECT_CREATE(-EINVAL, &req, "size 95");
	req.size = 0;
	EXPECT_CREATE(-EINVAL, &req, "size 0");
	req.size = 4097;
	EXPECT_CREATE(-E2BIG, &req, "size 4097");
	memset(&big, 0, sizeof(big));
	chan_req_init(&big.c, mine, 1, 0, 0, 0);
	big.c.size = sizeof(big);
	big.tail[1] = 1;
	EXPECT_CREATE(-E2BIG, &big, "non-zero tail");
	EXPECT_EQ(-EFAULT, ag_ioctl(&self->a, KCHAN_IOC_CREATE, NULL, 0));

	chan_req_init(&req, mine, 1, 0, 0, 0x80);
	EXPECT_CREATE(-EINVAL, &req, "unknown flag");
	chan_req_init(&req, mine, 1, 0, 01000, 0);
	EXPECT_CREATE(-EINVAL, &req, "mode 01000");
	chan_req_init(&req, mine, 1, 0, 0, 0);
	req.reserved[1] = 1;
	EXPECT_CREATE(-EINVAL, &req, "reserved");
	chan_req_init(&req, mine, max_cap + 1, 1, 0, 0);
	EXPECT_CREATE(-EINVAL, &req, "capacity over max_capacity");
	chan_req_init(&req, mine, 1, max_msg + 1, 0, 0);
	EXPECT_CREATE(-EINVAL, &req, "msg_max over max_msg_size");
	chan_req_init(&req, mine, 1, 0, 0, 0);
	req.period_ns = 1000000;
	EXPECT_CREATE(-EINVAL, &req, "period_ns without a timer flag");
	chan_req_init(&req, victim, 1, 0, 0, 0);
	EXPECT_CREATE(-EEXIST, &req, "another user's name");
#undef EXPECT_CREATE

	/* Close and destroy by name with bad structs: not even EPERM. */
	memset(&nreq, 0, sizeof(nreq));
	nreq.size = sizeof(nreq);
	strcpy(nreq.name, victim);
	nreq.flags = 1;
	EXPECT_EQ(-EINVAL, ag_ioctl(&self->a, KCHAN_IOC_DESTROY, &nreq, sizeof(nreq)));
	EXPECT_EQ(-EINVAL, ag_ioctl(&self->a, KCHAN_IOC_CLOSE_NAME, &nreq, sizeof(nreq)));
	nreq.flags = 0;
	nreq.reserved = 1;
	EXPECT_EQ(-EINVAL, ag_ioctl(&self->a, KCHAN_IOC_DESTROY, &nreq, sizeof(nreq)));
	nreq.reserved = 0;
	nreq.size = KCHAN_NAME_SIZE_VER0 - 1;
	EXPECT_EQ(-EINVAL, ag_ioctl(&self->a, KCHAN_IOC_DESTROY, &nreq, sizeof(nreq)));
	nreq.size = sizeof(nreq);
	memset(nreq.name, 0, sizeof(nreq.name));
	strcpy(nreq.name, "../etc");
	EXPECT_EQ(-EINVAL, ag_ioctl(&self->a, KCHAN_IOC_DESTROY, &nreq, sizeof(nreq)));
	EXPECT_EQ(-EFAULT, ag_ioctl(&self->a, KCHAN_IOC_DESTROY, NULL, 0));
	EXPECT_EQ(-EFAULT, ag_ioctl(&self->a, KCHAN_IOC_CLOSE_NAME, NULL, 0));
	EXPECT_EQ(-ENOTTY, ag_ioctl(&self->a, _IO(KCHAN_IOC_MAGIC, 0x7f), &nreq, sizeof(nreq)));
	EXPECT_EQ(-ENOTTY, ag_ioctl(&self->a, KCHAN_IOC_INFO, &nreq, sizeof(nreq)));

	/* An anonymous channel has no name and no mode; and A has no quota left after mine. */
	chan_req_init(&req, "anon", 1, 0, 0, 0);
	EXPECT_EQ(-EINVAL, ag_ioctl(&self->a, KCHAN_IOC_MAKE, &req, sizeof(req)));
	chan_req_init(&req, "", 1, 0, 0600, 0);
	EXPECT_EQ(-EINVAL, ag_ioctl(&self->a, KCHAN_IOC_MAKE, &req, sizeof(req)));
	chan_req_init(&req, "", 1, 0, 0, 0x80);
	EXPECT_EQ(-EINVAL, ag_ioctl(&self->a, KCHAN_IOC_MAKE, &req, sizeof(req)));
	chan_req_init(&req, "", max_cap + 1, 1, 0, 0);
	EXPECT_EQ(-EINVAL, ag_ioctl(&self->a, KCHAN_IOC_MAKE, &req, sizeof(req)));
	EXPECT_EQ(-EFAULT, ag_ioctl(&self->a, KCHAN_IOC_MAKE, NULL, 0));

	/* Nothing changed: no channel appeared, the victim is intact... */
	EXPECT_EQ(before, count_channels());
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(1, info.sent);
	EXPECT_EQ(1, chan_len(fd));
	EXPECT_EQ(1, read(fd, b, sizeof(b)));
	EXPECT_EQ('v', b[0]);
	close(fd);
	/* ...and A's quota is whole: exactly one channel, then EDQUOT. */
	EXPECT_EQ(0, ag_create(&self->a, mine, 1, 0, 0));
	EXPECT_EQ(-EDQUOT, ag_create(&self->a, more, 1, 0, 0));
}

TEST_HARNESS_MAIN

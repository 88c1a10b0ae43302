// SPDX-License-Identifier: GPL-2.0
/*
 * Destroying a channel that is still open: the node goes at once (from
 * stat() and readdir()), buffered messages are dropped, blocked readers
 * and writers wake, and every later read/write/close on an open fd is
 * ENODEV while KCHAN_IOC_INFO keeps working.  And unloading the module:
 * refused while an instance is mounted or any channel or control fd is
 * open (even of an instance already unmounted), otherwise it goes, and
 * unmounting the instance has destroyed every channel.
 */
#include "chan_test.h"

#include <sys/epoll.h>

#define MAX	64
#define CAP	2

FIXTURE(destroy) {
	struct chan_env env;
};

FIXTURE_VARIANT(destroy) {
	__u32 capacity;
};

FIXTURE_VARIANT_ADD(destroy, buffered) { .capacity = CAP };
FIXTURE_VARIANT_ADD(destroy, unbuffered) { .capacity = 0 };

FIXTURE_SETUP(destroy)
{
	chan_env_setup(&self->env, variant->capacity, MAX, 0);
}

FIXTURE_TEARDOWN(destroy)
{
	chan_env_teardown(&self->env);
}

static int close_fd(int fd)
{
	return chan_ioctl(fd, KCHAN_IOC_CLOSE, NULL);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

struct match {
	const char *name;
	bool found;
};

static int match_name(const char *name, void *arg)
{
	struct match *m = arg;

	if (strcmp(name, m->name))
		return 0;
	m->found = true;
	return 1;
}

/* Whether readdir() of /dev/chan lists name. */
static bool listed(const char *name)
{
	struct match m = { .name = name };

	chan_list(match_name, &m);
	return m.found;
}

TEST_F(destroy, node_goes_at_once)
{
	char path[PATH_MAX];

	chan_path(path, sizeof(path), self->env.name);
	ASSERT_TRUE(exists(path));
	ASSERT_TRUE(listed(self->env.name));
	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	EXPECT_FALSE(exists(path));
	EXPECT_FALSE(listed(self->env.name));
	EXPECT_EQ(-ENOENT, chan_open(self->env.name, O_RDWR));
	EXPECT_EQ(-ENOENT, chan_destroy(self->env.ctl, self->env.name));
}

TEST_F(destroy, later_io_enodev_and_messages_dropped)
{
	struct kchan_info info;
	char b[MAX];

	if (variant->capacity)
		ASSERT_EQ(2, chan_fill(self->env.nb, "m", 2));
	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));

	/* Not the buffered messages, not EAGAIN, not EOF: ENODEV. */
	EXPECT_EQ(-1, read(self->env.fd, b, sizeof(b)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, write(self->env.fd, "x", 1));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, write(self->env.nb, "x", 1));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-ENODEV, close_fd(self->env.fd));

	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(KCHAN_STATE_DESTROYED, info.state);
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(variant->capacity, info.capacity);
	EXPECT_EQ(MAX, info.msg_max);
	EXPECT_EQ(variant->capacity ? 2 : 0, info.sent);
	EXPECT_EQ(0, info.received);
}

/* The node is gone, but /proc/self/fd still reaches the inode: no way back in. */
TEST_F(destroy, reopen_through_proc_fails)
{
	struct kchan_info info;
	char path[64];
	int fd;

	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->env.fd);
	fd = open(path, O_RDWR | O_CLOEXEC);
	EXPECT_EQ(-1, fd);
	EXPECT_TRUE(errno == ENODEV || errno == ENXIO) TH_LOG("errno %d", errno);
	if (fd >= 0)
		close(fd);
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(2, info.readers);
	EXPECT_EQ(2, info.writers);
}

TEST_F(destroy, closed_then_destroyed_is_enodev_not_eof)
{
	struct kchan_info info;
	char b[MAX];

	ASSERT_EQ(0, close_fd(self->env.fd));
	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	EXPECT_EQ(-1, read(self->env.nb, b, sizeof(b)));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-1, write(self->env.nb, "x", 1));
	EXPECT_EQ(ENODEV, errno);
	EXPECT_EQ(-ENODEV, close_fd(self->env.fd));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(KCHAN_STATE_CLOSED | KCHAN_STATE_DESTROYED, info.state);
}

/* ENODEV is not EPIPE: a write to a destroyed channel raises no SIGPIPE. */
TEST_F_TIMEOUT(destroy, write_enodev_without_sigpipe, CHAN_TIMEOUT)
{
	pid_t pid;

	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		_exit(write(self->env.nb, "x", 1) == -1 && errno == ENODEV ? 0 : 1);
	}
	EXPECT_EQ(0, chan_reap(pid));
}

TEST_F(destroy, info_still_works_and_counts_files)
{
	struct kchan_info info;
	char buf[32];
	int r;

	r = chan_open(self->env.name, O_RDONLY);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	ASSERT_EQ(0, chan_info(r, &info));
	EXPECT_EQ(KCHAN_STATE_DESTROYED, info.state);
	EXPECT_EQ(3, info.readers);
	EXPECT_EQ(2, info.writers);
	close(self->env.fd);
	self->env.fd = -1;
	ASSERT_EQ(0, chan_info(r, &info));
	EXPECT_EQ(2, info.readers);
	EXPECT_EQ(1, info.writers);
	/* The read-only fd works for INFO; reads are ENODEV. */
	EXPECT_EQ(-1, read(r, buf, sizeof(buf)));
	EXPECT_EQ(ENODEV, errno);
	close(r);
}

TEST_F(destroy, poll_reports_err_and_hup)
{
	struct epoll_event ev;
	int ep;

	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	EXPECT_EQ(POLLERR | POLLHUP, chan_revents(self->env.fd, CHAN_POLL_ALL));
	EXPECT_EQ(POLLERR | POLLHUP, chan_revents(self->env.fd, 0));

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ev.events = EPOLLIN | EPOLLOUT;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->env.fd, &ev));
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 0));
	EXPECT_EQ(EPOLLERR | EPOLLHUP, ev.events);
	close(ep);
}

TEST_F_TIMEOUT(destroy, blocked_readers_wake_enodev, CHAN_TIMEOUT)
{
	struct chan_io *io[2];
	pid_t pid[2];
	int i;

	for (i = 0; i < 2; i++)
		io[i] = chan_blocked_reader(_metadata, self->env.fd, MAX, &pid[i]);
	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, chan_reap(pid[i]));
		EXPECT_EQ(-1, io[i]->ret);
		EXPECT_EQ(ENODEV, io[i]->err);
	}
}

TEST_F_TIMEOUT(destroy, blocked_writers_wake_enodev, CHAN_TIMEOUT)
{
	struct chan_io *io[2];
	pid_t pid[2];
	int i;

	if (variant->capacity)
		ASSERT_EQ(CAP, chan_fill(self->env.nb, "m", CAP));
	for (i = 0; i < 2; i++)
		io[i] = chan_blocked_writer(_metadata, self->env.fd, "w", &pid[i]);
	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, chan_reap(pid[i]));
		EXPECT_EQ(-1, io[i]->ret);
		EXPECT_EQ(ENODEV, io[i]->err);
	}
}

TEST_F_TIMEOUT(destroy, blocked_poller_wakes, CHAN_TIMEOUT)
{
	struct chan_io *io = chan_io_new();
	pid_t pid;

	ASSERT_NE(NULL, io);
	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct pollfd p = { .fd = self->env.fd, .events = POLLIN };

		io->ret = poll(&p, 1, -1) == 1 ? p.revents : -1;
		_exit(0);
	}
	ASSERT_EQ(0, chan_wait_blocked(pid, SYS_poll));
	ASSERT_EQ(0, chan_destroy(self->env.ctl, self->env.name));
	ASSERT_EQ(0, chan_reap(pid));
	EXPECT_EQ(POLLERR | POLLHUP, io->ret);
}

TEST_F(destroy, destroy_by_non_owner_is_eperm_even_while_open)
{
	struct kchan_info info;
	pid_t pid;

	pid = chan_fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ctl;

		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			_exit(100);
		ctl = chan_ctl_open();
		_exit(ctl >= 0 && chan_destroy(ctl, self->env.name) == -EPERM ? 0 : 1);
	}
	EXPECT_EQ(0, chan_reap(pid));
	ASSERT_EQ(0, chan_info(self->env.fd, &info));
	EXPECT_EQ(0, info.state);
}

/* ---------------------------------------------------------------------- */
/* Unloading the module.  Needs root and KCHAN_KO (set by tools/vm/run). */

#define SH_PATH "PATH=/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin; "

static int sh(const char *cmd)
{
	char buf[PATH_MAX + 256];
	int status;

	snprintf(buf, sizeof(buf), SH_PATH "%s", cmd);
	fflush(stdout);
	status = system(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* insmod, then mount /dev/chan, as the guest runner does: 0 or -errno. */
static int load(void)
{
	return chan_module_load(getenv("KCHAN_KO"), "");
}

FIXTURE(module) {
	int ctl;
	char name[KCHAN_NAME_MAX];
	char name2[KCHAN_NAME_MAX];
};

FIXTURE_SETUP(module)
{
	const char *ko = getenv("KCHAN_KO");

	self->ctl = -1;
	CHAN_SKIP_IF_ABSENT();
	if (!ko || !*ko)
		SKIP(return, "KCHAN_KO is not set: cannot reload the module");
	if (geteuid())
		SKIP(return, "needs root");
	if (!chan_module_loaded())
		SKIP(return, "kchan is built in or not a module");
	chan_make_name(self->name);
	chan_make_name(self->name2);
}

FIXTURE_TEARDOWN(module)
{
	int ctl;

	if (self->ctl >= 0)
		close(self->ctl);
	/* Leave the module loaded and /dev/chan mounted for whatever runs next. */
	if (!chan_module_loaded())
		load();
	else if (!chan_fs_mounted(KCHAN_DEV_DIR))
		chan_fs_mount(KCHAN_DEV_DIR, NULL);
	ctl = chan_ctl_open();
	if (ctl >= 0) {
		chan_destroy(ctl, self->name);
		chan_destroy(ctl, self->name2);
		close(ctl);
	}
}

/*
 * README: rmmod is refused ("Module kchan is in use"), delete_module()
 * failing with EAGAIN, while an instance is mounted or an fd is open; the
 * module stays.
 */
#define EXPECT_UNLOAD_REFUSED() do { \
	int __r; \
	EXPECT_NE(0, sh("rmmod kchan 2>/dev/null")); \
	__r = chan_module_delete(); \
	EXPECT_EQ(-EAGAIN, __r); \
	EXPECT_TRUE(chan_module_loaded()); \
} while (0)

TEST_F_TIMEOUT(module, unload_refused_while_channel_fd_open, 120)
{
	int fd, fd2, ret;
	char b[8];

	self->ctl = chan_ctl_open();
	ASSERT_LE(0, self->ctl);
	ASSERT_EQ(0, chan_create(self->ctl, self->name, 1, 0, 0, 0));
	ASSERT_EQ(0, chan_create(self->ctl, self->name2, 1, 0, 0, 0));
	fd = chan_open(self->name, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	fd2 = chan_open(self->name2, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd2);
	/* The second one destroyed but still open. */
	ASSERT_EQ(0, chan_destroy(self->ctl, self->name2));
	close(self->ctl);
	self->ctl = -1;

	/* The mount pins the module. */
	EXPECT_UNLOAD_REFUSED();
	/* Unmounted (detached), the open files still pin it. */
	ASSERT_EQ(1, chan_fs_umount_all());
	EXPECT_FALSE(chan_fs_mounted(KCHAN_DEV_DIR));
	EXPECT_FALSE(exists(KCHAN_CONTROL_PATH));
	EXPECT_UNLOAD_REFUSED();
	/* The channel is untouched, the destroyed one still destroyed. */
	ASSERT_EQ(2, write(fd, "ok", 2));
	ASSERT_EQ(2, read(fd, b, sizeof(b)));
	EXPECT_EQ(-1, write(fd2, "x", 1));
	EXPECT_EQ(ENODEV, errno);

	close(fd);
	EXPECT_UNLOAD_REFUSED();	/* fd2, of a destroyed channel */
	close(fd2);
	EXPECT_EQ(0, sh("rmmod kchan"));
	EXPECT_FALSE(chan_module_loaded());
	ret = load();
	ASSERT_EQ(0, ret) TH_LOG("insmod and mount: %s", strerror(-ret));
	EXPECT_TRUE(exists(KCHAN_CONTROL_PATH));
}

TEST_F_TIMEOUT(module, unload_refused_while_control_fd_open, 120)
{
	int ret;

	self->ctl = chan_ctl_open();
	ASSERT_LE(0, self->ctl);
	EXPECT_UNLOAD_REFUSED();
	ASSERT_EQ(1, chan_fs_umount_all());
	EXPECT_UNLOAD_REFUSED();
	close(self->ctl);
	self->ctl = -1;
	EXPECT_EQ(0, sh("rmmod kchan"));
	EXPECT_FALSE(chan_module_loaded());
	ret = load();
	ASSERT_EQ(0, ret) TH_LOG("insmod and mount: %s", strerror(-ret));
	EXPECT_TRUE(exists(KCHAN_CONTROL_PATH));
}

TEST_F_TIMEOUT(module, unload_destroys_every_channel, 120)
{
	char path[PATH_MAX];
	unsigned long v;
	int fd, ret;

	chan_path(path, sizeof(path), self->name);
	self->ctl = chan_ctl_open();
	ASSERT_LE(0, self->ctl);
	ASSERT_EQ(0, chan_create(self->ctl, self->name, 4, 0, 0, 0));
	fd = chan_open(self->name, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(3, write(fd, "msg", 3));
	close(fd);
	ASSERT_EQ(0, chan_param_set("max_capacity", 77));
	close(self->ctl);
	self->ctl = -1;

	/* Channels alone do not pin the module, their instance's mount does. */
	EXPECT_UNLOAD_REFUSED();
	ASSERT_EQ(1, chan_fs_umount_all());
	EXPECT_FALSE(exists(path));
	ASSERT_EQ(0, sh("rmmod kchan"));
	EXPECT_FALSE(chan_module_loaded());
	ret = load();
	ASSERT_EQ(0, ret) TH_LOG("insmod and mount: %s", strerror(-ret));

	/* A fresh start: the old channel is gone, the name is free. */
	EXPECT_FALSE(exists(path));
	EXPECT_EQ(0, chan_param_get("max_capacity", &v));
	EXPECT_EQ(65536, v);
	self->ctl = chan_ctl_open();
	ASSERT_LE(0, self->ctl);
	EXPECT_EQ(0, chan_create(self->ctl, self->name, 1, 0, 0, 0));
}

TEST_HARNESS_MAIN

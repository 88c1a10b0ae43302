// SPDX-License-Identifier: GPL-2.0
/*
 * libchan: chan_create, chan_destroy, chan_open, chan_close, chan_close_fd,
 * chan_info and chan_name_valid, and the errors they return.
 */
#include "libchan_test.h"

LT_FIXTURE();

/* Defaults: unbuffered, msg_max 4096, mode 0600, open state. */
TEST_F(lt, create_defaults)
{
	const char *name = lt_name(&self->env);
	struct chan_info info;
	struct stat st;
	char path[128];
	int fd;

	ASSERT_EQ(0, chan_create(name, NULL));
	fd = chan_open(name, O_RDWR);
	ASSERT_LE(0, fd);
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(0, info.capacity);
	EXPECT_EQ(0, info.length);
	EXPECT_EQ(4096, info.msg_max);
	EXPECT_EQ(0, info.state);
	EXPECT_EQ(1, info.readers);
	EXPECT_EQ(1, info.writers);
	EXPECT_EQ(0, info.sent);
	EXPECT_EQ(0, info.received);
	EXPECT_EQ(0, info.dropped);
	EXPECT_EQ(0, info.held);
	EXPECT_NE(0, info.id);
	EXPECT_EQ(0, info.reserved);
	snprintf(path, sizeof(path), "/dev/chan/%s", name);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	/* chan_open is always close-on-exec. */
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	EXPECT_EQ(0, chan_destroy(name));
	EXPECT_EQ(-ENOENT, chan_open(name, O_RDONLY));
}

/* Every chan_opts field reaches the kernel. */
TEST_F(lt, create_opts)
{
	struct chan_opts o = { .capacity = 7, .msg_max = 100, .mode = 0640,
			       .flags = CHAN_AUTOCLOSE };
	const char *name = lt_name(&self->env);
	struct chan_info info;
	struct stat st;
	char path[128];
	int fd;

	ASSERT_EQ(0, chan_create(name, &o));
	fd = chan_open(name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(7, info.capacity);
	EXPECT_EQ(100, info.msg_max);
	EXPECT_EQ(CHAN_STATE_AUTOCLOSE, info.state);
	EXPECT_EQ(1, info.readers);
	EXPECT_EQ(0, info.writers);
	snprintf(path, sizeof(path), "/dev/chan/%s", name);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0640, st.st_mode & 07777);
	close(fd);

	/* Reserved fields are refused by the library itself. */
	o.reserved0 = 1;
	EXPECT_EQ(-EINVAL, chan_create(lt_name(&self->env), &o));
	o.reserved0 = 0;
	o.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, chan_create(lt_name(&self->env), &o));
}

TEST_F(lt, create_errors)
{
	struct chan_opts o = { 0 };
	const char *name = lt_name(&self->env);
	char longname[80];

	ASSERT_EQ(0, chan_create(name, NULL));
	EXPECT_EQ(-EEXIST, chan_create(name, NULL));
	EXPECT_STREQ("A channel of this name exists", chan_strerror(-EEXIST, CHAN_OP_CREATE));

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	EXPECT_EQ(-ENAMETOOLONG, chan_create(longname, NULL));
	longname[CHAN_NAME_MAX - 1] = '\0';	/* 63 bytes: just fits */
	EXPECT_EQ(1, chan_name_valid(longname));
	longname[CHAN_NAME_MAX - 1] = 'a';
	longname[CHAN_NAME_MAX] = '\0';		/* 64 bytes: one too many */
	EXPECT_EQ(0, chan_name_valid(longname));
	EXPECT_EQ(-ENAMETOOLONG, chan_create(longname, NULL));

	EXPECT_EQ(-EINVAL, chan_create("", NULL));
	EXPECT_EQ(-EINVAL, chan_create(".hidden", NULL));
	EXPECT_EQ(-EINVAL, chan_create("a/b", NULL));
	EXPECT_EQ(-EINVAL, chan_create(NULL, NULL));

	/* The kernel's own checks come back as they are. */
	o.mode = 01777;
	EXPECT_EQ(-EINVAL, chan_create(lt_name(&self->env), &o));
	o.mode = 0;
	o.flags = 0x80;
	EXPECT_EQ(-EINVAL, chan_create(lt_name(&self->env), &o));
	o.flags = 0;
	o.period_ns = 1000000;		/* a period without a timer flag */
	EXPECT_EQ(-EINVAL, chan_create(lt_name(&self->env), &o));
}

TEST_F(lt, name_valid)
{
	EXPECT_EQ(1, chan_name_valid("a"));
	EXPECT_EQ(1, chan_name_valid("jobs.v2_x-1"));
	EXPECT_EQ(1, chan_name_valid("a.."));
	EXPECT_EQ(0, chan_name_valid(""));
	EXPECT_EQ(0, chan_name_valid("."));
	EXPECT_EQ(0, chan_name_valid(".."));
	EXPECT_EQ(0, chan_name_valid("../sda"));
	EXPECT_EQ(0, chan_name_valid("a b"));
	EXPECT_EQ(0, chan_name_valid("caf\xc3\xa9"));
	EXPECT_EQ(0, chan_name_valid(NULL));
}

/* chan_open builds a path: nothing outside /dev/chan can be reached. */
TEST_F(lt, open_errors)
{
	const char *name = lt_name(&self->env);

	EXPECT_EQ(-EINVAL, chan_open("../null", O_RDONLY));
	EXPECT_EQ(-EINVAL, chan_open("../chan/.control", O_RDWR));
	EXPECT_EQ(-EINVAL, chan_open(".control", O_RDWR));
	EXPECT_EQ(-ENOENT, chan_open(name, O_RDONLY));
	EXPECT_STREQ("No such channel (or kchan is not loaded)",
		     chan_strerror(-ENOENT, CHAN_OP_OPEN));
	ASSERT_EQ(0, chan_create(name, NULL));
	EXPECT_EQ(-EINVAL, chan_open(name, O_RDONLY | O_CREAT));
	EXPECT_EQ(-EINVAL, chan_open(name, O_RDONLY | O_APPEND));
	EXPECT_EQ(-EINVAL, chan_open(name, O_ACCMODE));
}

/* Go's close, by name and by fd; the second one is EPIPE. */
TEST_F(lt, close)
{
	struct chan_opts o = { .capacity = 2 };
	const char *a = lt_name(&self->env), *b = lt_name(&self->env);
	struct chan_info info;
	char buf[16];
	int fa, fb, rd;

	ASSERT_EQ(0, chan_create(a, &o));
	ASSERT_EQ(0, chan_create(b, &o));
	fa = chan_open(a, O_RDWR);
	fb = chan_open(b, O_RDWR);
	rd = chan_open(b, O_RDONLY);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	ASSERT_LE(0, rd);

	ASSERT_EQ(0, chan_send(fa, "x", 1));
	ASSERT_EQ(0, chan_close(a));
	ASSERT_EQ(0, chan_info(fa, &info));
	EXPECT_EQ(CHAN_STATE_CLOSED, info.state);
	EXPECT_EQ(-EPIPE, chan_close(a));
	EXPECT_STREQ("Channel already closed", chan_strerror(-EPIPE, CHAN_OP_CLOSE));
	EXPECT_EQ(-EPIPE, chan_send(fa, "y", 1));
	/* Receivers drain, then see end of file. */
	EXPECT_EQ(1, chan_recv(fa, buf, sizeof(buf)));
	EXPECT_EQ(0, chan_recv(fa, buf, sizeof(buf)));

	EXPECT_EQ(-EBADF, chan_close_fd(rd));	/* needs write access */
	EXPECT_EQ(0, chan_close_fd(fb));
	EXPECT_EQ(-EPIPE, chan_close_fd(fb));
	EXPECT_EQ(0, chan_recv(rd, buf, sizeof(buf)));

	EXPECT_EQ(-ENOENT, chan_close(lt_name(&self->env)));
	close(fa);
	close(fb);
	close(rd);
}

/*
 * After destroy: the node is gone, the fds fail with ENODEV, info works,
 * and the name is free at once, even while an fd of the old channel is
 * open; the old and the new channel never mix.
 */
TEST_F(lt, destroy)
{
	struct chan_opts o = { .capacity = 4 };
	const char *name = lt_name(&self->env);
	struct chan_info info, info2;
	char buf[16];
	int fd, fd2;

	ASSERT_EQ(0, chan_create(name, &o));
	fd = chan_open(name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, chan_send(fd, "x", 1));
	ASSERT_EQ(0, chan_destroy(name));
	EXPECT_EQ(-ENOENT, chan_destroy(name));
	EXPECT_EQ(-ENOENT, chan_open(name, O_RDWR));
	EXPECT_EQ(-ENODEV, chan_send(fd, "y", 1));
	EXPECT_EQ(-ENODEV, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ(-ENODEV, chan_close_fd(fd));
	EXPECT_STREQ("Channel destroyed", chan_strerror(-ENODEV, CHAN_OP_RECV));
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(CHAN_STATE_DESTROYED, info.state & CHAN_STATE_DESTROYED);

	/* The name is free at once, though our fd of the old one is open. */
	ASSERT_EQ(0, chan_create(name, &o));
	fd2 = chan_open(name, O_RDWR);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, chan_info(fd2, &info2));
	EXPECT_NE(info.id, info2.id);
	EXPECT_EQ(0, info2.state);
	EXPECT_EQ(0, info2.length);	/* the old "x" is not in it */
	ASSERT_EQ(0, chan_send(fd2, "z", 1));
	EXPECT_EQ(-ENODEV, chan_recv(fd, buf, sizeof(buf)));
	EXPECT_EQ(-ENODEV, chan_send(fd, "y", 1));
	EXPECT_EQ(1, chan_recv(fd2, buf, sizeof(buf)));
	EXPECT_EQ('z', buf[0]);
	ASSERT_EQ(0, chan_info(fd, &info));
	EXPECT_EQ(CHAN_STATE_DESTROYED, info.state & CHAN_STATE_DESTROYED);
	close(fd);
	close(fd2);
	EXPECT_EQ(0, chan_destroy(name));
}

/* chan_info on something that is not a channel. */
TEST_F(lt, info_errors)
{
	struct chan_info info;
	int p[2];

	EXPECT_EQ(-EBADF, chan_info(-1, &info));
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-ENOTTY, chan_info(p[0], &info));
	EXPECT_STREQ("Not a channel fd", chan_strerror(-ENOTTY, CHAN_OP_INFO));
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN

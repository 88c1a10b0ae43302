// SPDX-License-Identifier: GPL-2.0
/*
 * Many channels, cheaply (issue 14): ten thousand named channels in one
 * instance (each listed once, each its own node), all destroyed by unlink
 * and made again, an instance unmounted with them all present; ten
 * thousand anonymous ones made and closed, twice.  Counts are exact; there
 * is no timing here (speed is tools/bench's).
 *
 * Instances are mounted on mkdtemp() directories under /tmp and unmounted
 * and removed at teardown.  Needs root.
 */
#include "chan_test.h"

#include <sys/utsname.h>

#include <sys/mount.h>
#include <sys/resource.h>
#include <grp.h>

/*
 * Ten thousand, the figure; two thousand on the project's debug
 * kernels (a "-kchan-" release), where KASAN, lockdep and kmemleak make
 * each create and destroy some fifty times dearer for no path that the
 * smaller count misses: every test below checks its counts exactly at
 * either size.  The test names keep the figure of Debian's kernels.
 */
static bool debug_kernel(void)
{
	static int debug = -1;
	struct utsname u;

	if (debug < 0)
		debug = !uname(&u) && strstr(u.release, "-kchan-");
	return debug;
}

#define N	(debug_kernel() ? 2000 : 10000)

FIXTURE(scale) {
	char dir[64];
	bool made;
	int *fds;		/* N + 1 anonymous fds */
};

FIXTURE_SETUP(scale)
{
	self->made = false;
	self->fds = NULL;
	if (geteuid() != 0)
		SKIP(return, "needs root");
	CHAN_SKIP_IF_ABSENT();
	snprintf(self->dir, sizeof(self->dir), "/tmp/kchanscale-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir)) TH_LOG("mkdtemp: %m");
	self->made = true;
}

FIXTURE_TEARDOWN(scale)
{
	int i;

	if (self->fds) {
		for (i = 0; i <= N; i++)
			if (self->fds[i] >= 0)
				close(self->fds[i]);
		free(self->fds);
	}
	if (!self->made)
		return;
	while (!umount2(self->dir, MNT_DETACH))
		;
	rmdir(self->dir);
}

static int scale_mount(const char *dir, const char *opts)
{
	return mount("kchan", dir, KCHAN_FS_TYPE, 0, opts) ? -errno : 0;
}

/* Mount (or with MS_REMOUNT, remount) dir with max=MAX,max_user=USER (0: unset). */
static int scale_mount_max(const char *dir, unsigned long flags, int max, int user)
{
	char opts[64];
	int n = snprintf(opts, sizeof(opts), "max=%d", max);

	if (user)
		snprintf(opts + n, sizeof(opts) - n, ",max_user=%d", user);
	return mount(flags & MS_REMOUNT ? NULL : "kchan", dir,
		     flags & MS_REMOUNT ? NULL : KCHAN_FS_TYPE, flags, opts) ? -errno : 0;
}

static int ctl_at(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, KCHAN_CONTROL_NAME);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void scale_name(char *buf, int i)
{
	snprintf(buf, KCHAN_NAME_MAX, "c%05d", i);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* How many of v[0..n-1] equal another (v gets sorted). */
static int dups(__u64 *v, int n)
{
	int i, d = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (i = 1; i < n; i++)
		d += v[i] == v[i - 1];
	return d;
}

/*
 * Read dir: the number of entries but . and ..; *ctl says whether the
 * control node was one; seen[i] counts the entries named scale_name(i);
 * *odd counts the rest and those that are not DT_CHR.
 */
static int scan(const char *dir, unsigned char *seen, bool *ctl, int *odd)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(dir);

	*ctl = false;
	*odd = 0;
	if (seen)
		memset(seen, 0, N);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end;
		long i;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		if (e->d_type != DT_CHR)
			(*odd)++;
		if (!strcmp(e->d_name, KCHAN_CONTROL_NAME)) {
			*ctl = true;
			continue;
		}
		i = e->d_name[0] == 'c' ? strtol(e->d_name + 1, &end, 10) : -1;
		if (i < 0 || i >= N || *end || strlen(e->d_name) != 6 || !seen) {
			(*odd)++;
			continue;
		}
		if (seen[i] < 255)
			seen[i]++;
	}
	closedir(d);
	return n;
}

/* Entries seen other than exactly once. */
static int not_once(const unsigned char *seen)
{
	int i, bad = 0;

	for (i = 0; i < N; i++)
		bad += seen[i] != 1;
	return bad;
}

/* Create c00000.. c<n-1>: how many succeeded before the first failure; *err its errno. */
static int create_all(int ctl, int n, int *err)
{
	char name[KCHAN_NAME_MAX];
	int i, ret;

	*err = 0;
	for (i = 0; i < n; i++) {
		scale_name(name, i);
		ret = chan_create(ctl, name, 0, 16, 0, 0);
		if (ret) {
			*err = ret;
			break;
		}
	}
	return i;
}

TEST_F_TIMEOUT(scale, named_10000, 600)
{
	unsigned char *seen = malloc(N);
	__u64 *rdev = calloc(N, sizeof(*rdev));
	char path[PATH_MAX], name[KCHAN_NAME_MAX];
	int ctl, i, n, odd, err, fails;
	struct stat st;
	bool hasctl;

	ASSERT_NE(NULL, seen);
	ASSERT_NE(NULL, rdev);
	ASSERT_EQ(0, scale_mount_max(self->dir, 0, 2 * N, 2 * N));
	ctl = ctl_at(self->dir);
	ASSERT_LE(0, ctl);

	ASSERT_EQ(N, create_all(ctl, N, &err)) TH_LOG("create: %s", strerror(-err));
	n = scan(self->dir, seen, &hasctl, &odd);
	EXPECT_EQ(N + 1, n);
	EXPECT_TRUE(hasctl);
	EXPECT_EQ(0, odd);
	EXPECT_EQ(0, not_once(seen));
	/* Each its own node: a character device with its own number. */
	fails = 0;
	for (i = 0; i < N; i++) {
		scale_name(name, i);
		snprintf(path, sizeof(path), "%s/%s", self->dir, name);
		if (lstat(path, &st) || !S_ISCHR(st.st_mode) || (st.st_mode & 07777) != 0600) {
			fails++;
			continue;
		}
		rdev[i] = st.st_rdev;
	}
	EXPECT_EQ(0, fails);
	EXPECT_EQ(0, dups(rdev, N));
	EXPECT_EQ(-EEXIST, chan_create(ctl, "c00000", 0, 16, 0, 0));
	scale_name(name, N - 1);
	EXPECT_EQ(-EEXIST, chan_create(ctl, name, 0, 16, 0, 0));

	/* All destroyed by unlink. */
	fails = 0;
	for (i = 0; i < N; i++) {
		scale_name(name, i);
		snprintf(path, sizeof(path), "%s/%s", self->dir, name);
		fails += unlink(path) != 0;
	}
	EXPECT_EQ(0, fails);
	n = scan(self->dir, seen, &hasctl, &odd);
	EXPECT_EQ(1, n);
	EXPECT_TRUE(hasctl);
	EXPECT_EQ(0, odd);

	/* Every place came back: exactly N again with max=N, then ENOSPC. */
	ASSERT_EQ(0, scale_mount_max(self->dir, MS_REMOUNT, N, 0));
	ASSERT_EQ(N, create_all(ctl, N, &err)) TH_LOG("re-create: %s", strerror(-err));
	EXPECT_EQ(-ENOSPC, chan_create(ctl, "extra", 0, 16, 0, 0));
	n = scan(self->dir, seen, &hasctl, &odd);
	EXPECT_EQ(N + 1, n);
	EXPECT_EQ(0, not_once(seen));

	/* Unmounted with all of them present (no fd of it open but ctl). */
	close(ctl);
	ASSERT_EQ(0, umount2(self->dir, 0)) TH_LOG("umount: %m");
	n = scan(self->dir, NULL, &hasctl, &odd);
	EXPECT_EQ(0, n);

	/* A new instance starts empty, with all its places. */
	ASSERT_EQ(0, scale_mount_max(self->dir, 0, N, N));
	n = scan(self->dir, seen, &hasctl, &odd);
	EXPECT_EQ(1, n);
	EXPECT_TRUE(hasctl);
	ctl = ctl_at(self->dir);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(N, create_all(ctl, N, &err)) TH_LOG("create in the new instance: %s",
						     strerror(-err));
	EXPECT_EQ(-ENOSPC, chan_create(ctl, "extra", 0, 16, 0, 0));
	close(ctl);
	free(seen);
	free(rdev);
}

/* Entries of dir other than . and .., or -errno. */
static long count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* 100,000, the figure; 5,000 on the debug kernels (see N). */
static int big_count(void)
{
	return debug_kernel() ? 5000 : 100000;
}

/* 100,000 channels in one instance, half destroyed, the rest gone at umount. */
TEST_F_TIMEOUT(scale, named_100000, 1200)
{
	char name[KCHAN_NAME_MAX], path[PATH_MAX];
	int ctl, i, ret = 0, fails = 0;
	const int big = big_count();

	ASSERT_EQ(0, scale_mount_max(self->dir, 0, big, big));
	ctl = ctl_at(self->dir);
	ASSERT_LE(0, ctl);
	for (i = 0; i < big && !ret; i++) {
		snprintf(name, sizeof(name), "big%06d", i);
		ret = chan_create(ctl, name, 0, 16, 0, 0);
	}
	ASSERT_EQ(0, ret) TH_LOG("create %d: %s", i - 1, strerror(-ret));
	EXPECT_EQ(-ENOSPC, chan_create(ctl, "extra", 0, 16, 0, 0));
	EXPECT_EQ(big + 1, count_entries(self->dir));
	/* Half destroyed by unlink, the rest left for umount. */
	for (i = 0; i < big; i += 2) {
		snprintf(path, sizeof(path), "%s/big%06d", self->dir, i);
		fails += unlink(path) != 0;
	}
	EXPECT_EQ(0, fails);
	EXPECT_EQ(big / 2 + 1, count_entries(self->dir));
	close(ctl);
	ASSERT_EQ(0, umount2(self->dir, 0)) TH_LOG("umount: %m");
	EXPECT_EQ(0, count_entries(self->dir));
	ASSERT_EQ(0, scale_mount(self->dir, "max=1"));
	EXPECT_EQ(1, count_entries(self->dir));
}

/* max_user counts exactly too: N for one user, then EDQUOT. */
TEST_F_TIMEOUT(scale, named_max_user_10000, 600)
{
	int ctl, err;

	ASSERT_EQ(0, scale_mount_max(self->dir, 0, 2 * N, N));
	ctl = ctl_at(self->dir);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(N, create_all(ctl, N + 1, &err));
	EXPECT_EQ(-EDQUOT, err);
	close(ctl);
}

static int make_anon(int ctl)
{
	struct kchan_create req;
	int fd;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.capacity = 1;
	req.msg_max = 16;
	req.flags = KCHAN_MAKE_CLOEXEC;
	fd = ioctl(ctl, KCHAN_IOC_MAKE, &req);
	return fd < 0 ? -errno : fd;
}

TEST_F_TIMEOUT(scale, anon_10000, 600)
{
	__u64 *ids = calloc(N, sizeof(*ids));
	struct rlimit rl = { .rlim_cur = N + 256, .rlim_max = N + 256 };
	struct kchan_info info;
	int ctl, i, round, fails, n, odd;
	bool hasctl;

	ASSERT_NE(NULL, ids);
	self->fds = malloc((N + 1) * sizeof(int));
	ASSERT_NE(NULL, self->fds);
	for (i = 0; i <= N; i++)
		self->fds[i] = -1;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl)) TH_LOG("RLIMIT_NOFILE %d: %m", N + 256);
	ASSERT_EQ(0, scale_mount_max(self->dir, 0, N, N));
	ctl = ctl_at(self->dir);
	ASSERT_LE(0, ctl);

	for (round = 0; round < 2; round++) {
		for (i = 0; i < N; i++) {
			self->fds[i] = make_anon(ctl);
			if (self->fds[i] < 0)
				break;
		}
		ASSERT_EQ(N, i) TH_LOG("round %d: make %d: %s", round, i, strerror(-self->fds[i]));
		self->fds[N] = make_anon(ctl);
		EXPECT_EQ(-ENOSPC, self->fds[N]);
		EXPECT_EQ(-ENOSPC, chan_create(ctl, "named", 0, 16, 0, 0));
		/* Each its own channel, and none in the directory. */
		fails = 0;
		for (i = 0; i < N; i++) {
			if (chan_info(self->fds[i], &info) || info.readers != 1 ||
			    info.writers != 1 || info.state) {
				fails++;
				continue;
			}
			ids[i] = info.id;
		}
		EXPECT_EQ(0, fails);
		EXPECT_EQ(0, dups(ids, N));
		n = scan(self->dir, NULL, &hasctl, &odd);
		EXPECT_EQ(1, n);
		EXPECT_TRUE(hasctl);
		/* Closed: all their places back. */
		for (i = 0; i < N; i++) {
			close(self->fds[i]);
			self->fds[i] = -1;
		}
	}
	/* One at a time, in an instance with one place. */
	ASSERT_EQ(0, mount(NULL, self->dir, NULL, MS_REMOUNT, "max=1"));
	fails = 0;
	for (i = 0; i < N; i++) {
		int fd = make_anon(ctl);

		if (fd < 0) {
			fails++;
			continue;
		}
		if (i == 0)
			EXPECT_EQ(-ENOSPC, make_anon(ctl));
		close(fd);
	}
	EXPECT_EQ(0, fails);
	close(ctl);
	free(ids);
}

/* Named and anonymous share the instance's places. */
TEST_F_TIMEOUT(scale, mixed_fill, 600)
{
	struct rlimit rl = { .rlim_cur = N + 256, .rlim_max = N + 256 };
	int ctl, i, err;

	self->fds = malloc((N + 1) * sizeof(int));
	ASSERT_NE(NULL, self->fds);
	for (i = 0; i <= N; i++)
		self->fds[i] = -1;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	ASSERT_EQ(0, scale_mount_max(self->dir, 0, N, N));
	ctl = ctl_at(self->dir);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(N / 2, create_all(ctl, N / 2, &err)) TH_LOG("%s", strerror(-err));
	for (i = 0; i < N / 2; i++) {
		self->fds[i] = make_anon(ctl);
		if (self->fds[i] < 0)
			break;
	}
	ASSERT_EQ(N / 2, i) TH_LOG("make %d: %s", i, strerror(-self->fds[i]));
	EXPECT_EQ(-ENOSPC, make_anon(ctl));
	EXPECT_EQ(-ENOSPC, chan_create(ctl, "extra", 0, 16, 0, 0));
	/* One of each freed: one of each again. */
	close(self->fds[0]);
	self->fds[0] = -1;
	EXPECT_EQ(0, chan_destroy(ctl, "c00000"));
	self->fds[0] = make_anon(ctl);
	EXPECT_LE(0, self->fds[0]);
	EXPECT_EQ(0, chan_create(ctl, "extra", 0, 16, 0, 0));
	EXPECT_EQ(-ENOSPC, make_anon(ctl));
	close(ctl);
	/* Unmounted with the named ones present and the anonymous ones open. */
	ASSERT_EQ(0, umount2(self->dir, 0)) TH_LOG("umount: %m");
	err = 0;
	for (i = 0; i < N / 2; i++)
		err += write(self->fds[i], "x", 1) != 1;
	EXPECT_EQ(0, err);
}

/*
 * Four processes churn on the same few names at once: create, open,
 * write, unlink or DESTROY, make and close anonymous ones, each with only
 * the errnos that race allows.  Afterwards, with every name removed, the
 * instance has exactly its places again (no charge leaked or lost), as
 * has the user (the churners run as one unprivileged user).
 */
#define CHURNERS	4
#define CHURN_STEPS	3000
#define CHURN_NAMES	4
#define CHURN_MAX	6
#define CHURN_UID	2001
#define CHURN_GID	2101

static int churn(const char *dir, unsigned int seed)
{
	char name[KCHAN_NAME_MAX], path[PATH_MAX];
	int ctl = ctl_at(dir), i, bad = 0, fd, r;

	if (ctl < 0)
		return 1000000;
	for (i = 0; i < CHURN_STEPS; i++) {
		int op = rand_r(&seed) % 6;

		snprintf(name, sizeof(name), "n%d", rand_r(&seed) % CHURN_NAMES);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		switch (op) {
		case 0:
		case 1:
			r = chan_create(ctl, name, 1, 16, 0, 0);
			bad += r && r != -EEXIST && r != -ENOSPC && r != -EDQUOT;
			break;
		case 2:
			fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
			if (fd < 0) {
				bad += errno != ENOENT && errno != ENODEV;
				break;
			}
			r = write(fd, "x", 1) == 1 ? 0 : -errno;
			bad += r && r != -EAGAIN && r != -ENODEV;
			r = read(fd, path, 1) == 1 ? 0 : -errno;
			bad += r && r != -EAGAIN && r != -ENODEV;
			close(fd);
			break;
		case 3:
			r = unlink(path) ? -errno : 0;
			bad += r && r != -ENOENT;
			break;
		case 4:
			r = chan_destroy(ctl, name);
			bad += r && r != -ENOENT;
			break;
		case 5:
			fd = make_anon(ctl);
			if (fd < 0) {
				bad += fd != -ENOSPC && fd != -EDQUOT;
				break;
			}
			bad += write(fd, "a", 1) != 1;
			close(fd);
			break;
		}
	}
	close(ctl);
	return bad;
}

TEST_F_TIMEOUT(scale, concurrent_churn, 600)
{
	int *bad = mmap(NULL, CHURNERS * sizeof(int), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pids[CHURNERS];
	char name[KCHAN_NAME_MAX], path[PATH_MAX];
	int i, status, ctl, fds[CHURN_MAX + 1], n, odd;
	bool hasctl;

	ASSERT_NE(MAP_FAILED, bad);
	ASSERT_EQ(0, scale_mount(self->dir, "max=6,max_user=3"));
	for (i = 0; i < CHURNERS; i++) {
		bad[i] = -1;
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			alarm(300);
			if (setgroups(0, NULL) || setresgid(CHURN_GID, CHURN_GID, CHURN_GID) ||
			    setresuid(CHURN_UID, CHURN_UID, CHURN_UID))
				_exit(100);
			bad[i] = churn(self->dir, 1234 + i);
			_exit(0);
		}
	}
	for (i = 0; i < CHURNERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_EQ(0, status);
		EXPECT_EQ(0, bad[i]) TH_LOG("churner %d: %d unexpected errnos", i, bad[i]);
	}
	for (i = 0; i < CHURN_NAMES; i++) {
		snprintf(path, sizeof(path), "%s/n%d", self->dir, i);
		unlink(path);
	}
	n = scan(self->dir, NULL, &hasctl, &odd);
	EXPECT_EQ(1, n);
	EXPECT_TRUE(hasctl);

	/* The user: exactly max_user=3 again. */
	for (i = 0; i < CHURNERS; i++)
		bad[i] = -1;
	pids[0] = fork();
	ASSERT_LE(0, pids[0]);
	if (pids[0] == 0) {
		int c = ctl_at(self->dir), k;

		if (setgroups(0, NULL) || setresgid(CHURN_GID, CHURN_GID, CHURN_GID) ||
		    setresuid(CHURN_UID, CHURN_UID, CHURN_UID) || c < 0)
			_exit(100);
		for (k = 0; k < 4; k++) {
			snprintf(name, sizeof(name), "u%d", k);
			bad[k] = chan_create(c, name, 1, 16, 0, 0);
		}
		_exit(0);
	}
	ASSERT_EQ(pids[0], waitpid(pids[0], &status, 0));
	ASSERT_EQ(0, status);
	EXPECT_EQ(0, bad[0]);
	EXPECT_EQ(0, bad[1]);
	EXPECT_EQ(0, bad[2]);
	EXPECT_EQ(-EDQUOT, bad[3]);
	/* The instance: exactly max=6, so three more for root. */
	ctl = ctl_at(self->dir);
	ASSERT_LE(0, ctl);
	for (i = 0; i < CHURN_MAX - 3; i++) {
		fds[i] = make_anon(ctl);
		EXPECT_LE(0, fds[i]) TH_LOG("make %d: %s", i, strerror(-fds[i]));
	}
	EXPECT_EQ(-ENOSPC, make_anon(ctl));
	for (i = 0; i < CHURN_MAX - 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(ctl);
}

TEST_HARNESS_MAIN

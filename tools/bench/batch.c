// SPDX-License-Identifier: GPL-2.0
/*
 * Batched 1->1 streams: many messages per system call on each side.
 *
 *   kchan   KCHAN_IOC_SEND_BATCH / KCHAN_IOC_RECV_BATCH, --batch per call
 *   uring   io_uring (liburing): --batch IORING_OP_WRITE or _READ SQEs,
 *           submitted and waited for in one io_uring_enter; the ring is
 *           DEFER_TASKRUN | SINGLE_ISSUER where the kernel has them, so
 *           completions run in the caller's own enter.  Each process counts
 *           its iou-wrk threads at the end: with FMODE_NOWAIT files there
 *           must be none.
 *   mmsg    sendmmsg / recvmmsg(MSG_WAITFORONE) on SOCK_SEQPACKET
 *   writev  writev of --batch messages on a pipe; the reader reads up to
 *           as many bytes at once (a pipe has no boundaries to keep)
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/kchan.h>

#include "kchanbench.h"

struct batch_arg {
	struct figure *f;
	const struct link *l;
	long iters;
};

/* ----- io-wq workers ----------------------------------------------------- */

int iou_worker_threads(pid_t pid)
{
	char path[64], comm[32];
	struct dirent *e;
	int n = 0, fd;
	ssize_t len;
	DIR *d;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/task");
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char p[300];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/proc/%d/task/%s/comm",
			 pid ? (int)pid : (int)getpid(), e->d_name);
		fd = open(p, O_RDONLY | O_CLOEXEC);
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

/* ----- kchan batch ioctls ---------------------------------------------- */

static int kchan_batch_writer(struct round_shared *sh, int idx, struct batch_arg *a)
{
	unsigned int B = opts.batch, k;
	size_t size = a->f->size;
	struct kchan_msgvec *v = calloc(B, sizeof(*v));
	char *buf = malloc(size);
	struct kchan_batch b;
	long sent = 0, calls = 0;
	int err = 0, r;

	if (!v || !buf)
		return -ENOMEM;
	memset(buf, 0x5a, size);
	for (k = 0; k < B; k++)
		v[k] = (struct kchan_msgvec){ .buf = (uintptr_t)buf, .len = size };
	proc_start(sh, idx);
	while (sent < a->iters) {
		memset(&b, 0, sizeof(b));
		b.size = sizeof(b);
		b.msgs = (uintptr_t)v;
		b.count = a->iters - sent < B ? a->iters - sent : B;
		r = ioctl(a->l->wfd, KCHAN_IOC_SEND_BATCH, &b);
		calls++;
		if (r <= 0) {
			err = r < 0 ? -errno : -EIO;
			break;
		}
		sent += r;
	}
	proc_end(sh, idx, sent, err);
	sh->proc[idx].calls = calls;
	return err;
}

static int kchan_batch_reader(struct round_shared *sh, int idx, struct batch_arg *a)
{
	unsigned int B = opts.batch, k;
	size_t size = a->f->size;
	struct kchan_msgvec *v = calloc(B, sizeof(*v));
	char *buf = malloc((size_t)B * size);
	struct kchan_batch b;
	long got = 0, calls = 0;
	int err = 0, r;

	if (!v || !buf)
		return -ENOMEM;
	memset(buf, 0, (size_t)B * size);
	proc_start(sh, idx);
	while (got < a->iters) {
		for (k = 0; k < B; k++)
			v[k] = (struct kchan_msgvec){ .buf = (uintptr_t)(buf + k * size),
						      .len = size };
		memset(&b, 0, sizeof(b));
		b.size = sizeof(b);
		b.msgs = (uintptr_t)v;
		b.count = a->iters - got < B ? a->iters - got : B;
		r = ioctl(a->l->rfd, KCHAN_IOC_RECV_BATCH, &b);
		calls++;
		if (r <= 0) {
			err = r < 0 ? -errno : -EPIPE;
			break;
		}
		for (k = 0; k < (unsigned int)r; k++)
			if (v[k].len != size)
				err = -EIO;
		got += r;
	}
	proc_end(sh, idx, got, err);
	sh->proc[idx].calls = calls;
	return err;
}

/* ----- sendmmsg / recvmmsg ---------------------------------------------- */

static int mmsg_side(struct round_shared *sh, int idx, struct batch_arg *a, int send)
{
	unsigned int B = opts.batch, k;
	size_t size = a->f->size;
	struct mmsghdr *m = calloc(B, sizeof(*m));
	struct iovec *iov = calloc(B, sizeof(*iov));
	char *buf = malloc((size_t)B * size);
	long done = 0, calls = 0;
	int err = 0, r;

	if (!m || !iov || !buf)
		return -ENOMEM;
	memset(buf, 0x5a, (size_t)B * size);
	proc_start(sh, idx);
	while (done < a->iters) {
		unsigned int n = a->iters - done < B ? a->iters - done : B;

		for (k = 0; k < n; k++) {
			iov[k] = (struct iovec){ buf + k * size, size };
			memset(&m[k], 0, sizeof(m[k]));
			m[k].msg_hdr.msg_iov = &iov[k];
			m[k].msg_hdr.msg_iovlen = 1;
		}
		if (send)
			r = sendmmsg(a->l->wfd, m, n, 0);
		else
			r = recvmmsg(a->l->rfd, m, n, MSG_WAITFORONE, NULL);
		calls++;
		if (r <= 0) {
			err = r < 0 ? -errno : -EPIPE;
			break;
		}
		if (!send)
			for (k = 0; k < (unsigned int)r; k++)
				if (m[k].msg_len != size)
					err = -EIO;
		done += r;
	}
	proc_end(sh, idx, done, err);
	sh->proc[idx].calls = calls;
	return err;
}

/* ----- writev on a pipe, bulk reads ------------------------------------- */

static int writev_writer(struct round_shared *sh, int idx, struct batch_arg *a)
{
	unsigned int B = opts.batch, k;
	size_t size = a->f->size;
	struct iovec *iov = calloc(B, sizeof(*iov));
	char *buf = malloc((size_t)B * size);
	long sent = 0, calls = 0;
	int err = 0;

	if (!iov || !buf)
		return -ENOMEM;
	memset(buf, 0x5a, (size_t)B * size);
	proc_start(sh, idx);
	while (sent < a->iters && !err) {
		unsigned int n = a->iters - sent < B ? a->iters - sent : B;
		size_t want = (size_t)n * size, put = 0;
		ssize_t r;

		for (k = 0; k < n; k++)
			iov[k] = (struct iovec){ buf + k * size, size };
		/* A blocking pipe writev is whole unless a signal cuts it. */
		r = writev(a->l->wfd, iov, n);
		calls++;
		if (r < 0) {
			err = -errno;
			break;
		}
		put = r;
		while (put < want) {	/* the rest of this batch, contiguous in buf */
			r = write(a->l->wfd, buf + put, want - put);
			calls++;
			if (r < 0) {
				err = -errno;
				break;
			}
			put += r;
		}
		sent += n;
	}
	proc_end(sh, idx, sent, err);
	sh->proc[idx].calls = calls;
	return err;
}

static int bulk_reader(struct round_shared *sh, int idx, struct batch_arg *a)
{
	size_t size = a->f->size, want = (size_t)a->iters * size, got = 0;
	size_t chunk = (size_t)opts.batch * size;
	char *buf = malloc(chunk);
	long calls = 0;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	memset(buf, 0, chunk);
	proc_start(sh, idx);
	while (got < want) {
		ssize_t r = read(a->l->rfd, buf, want - got < chunk ? want - got : chunk);

		calls++;
		if (r <= 0) {
			err = r < 0 ? -errno : -EPIPE;
			break;
		}
		got += r;
	}
	proc_end(sh, idx, got / size, err);
	sh->proc[idx].calls = calls;
	return err;
}

/* ----- io_uring ---------------------------------------------------------- */

static int uring_init(struct io_uring *ring, unsigned int entries)
{
	static const unsigned int try_flags[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	struct io_uring_params p;
	unsigned int i;
	int ret = -EINVAL;

	for (i = 0; i < sizeof(try_flags) / sizeof(try_flags[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = try_flags[i];
		ret = io_uring_queue_init_params(entries, ring, &p);
		if (ret != -EINVAL)
			break;
	}
	return ret;
}

static int uring_side(struct round_shared *sh, int idx, struct batch_arg *a, int send)
{
	unsigned int B = opts.batch, k;
	size_t size = a->f->size;
	int fd = send ? a->l->wfd : a->l->rfd;
	char *buf = malloc((size_t)B * size);
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	long done = 0, calls = 0;
	int err = 0, ret;

	if (!buf)
		return -ENOMEM;
	memset(buf, 0x5a, (size_t)B * size);
	ret = uring_init(&ring, B);
	if (ret)
		return ret;
	proc_start(sh, idx);
	while (done < a->iters && !err) {
		unsigned int n = a->iters - done < B ? a->iters - done : B, reaped = 0;

		for (k = 0; k < n; k++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			if (send)
				io_uring_prep_write(sqe, fd, buf + k * size, size, -1);
			else
				io_uring_prep_read(sqe, fd, buf + k * size, size, -1);
		}
		/* One io_uring_enter: submit all n, return once all n are done. */
		ret = io_uring_submit_and_wait(&ring, n);
		calls++;
		if (ret < 0) {
			err = ret;
			break;
		}
		while (reaped < n) {
			if (io_uring_peek_cqe(&ring, &cqe)) {
				ret = io_uring_wait_cqe(&ring, &cqe);
				calls++;
				if (ret) {
					err = ret;
					break;
				}
			}
			if (cqe->res != (int)size && !err)
				err = cqe->res < 0 ? cqe->res : -EIO;
			io_uring_cqe_seen(&ring, cqe);
			reaped++;
		}
		done += reaped;
	}
	proc_end(sh, idx, done, err);
	sh->proc[idx].calls = calls;
	/* Workers linger for seconds once made: now is the time to look. */
	sh->proc[idx].iou_workers = iou_worker_threads(0);
	io_uring_queue_exit(&ring);
	return err;
}

/* ----- the round ---------------------------------------------------------- */

static int batch_writer(struct round_shared *sh, int idx, void *arg)
{
	struct batch_arg *a = arg;

	switch (a->f->mode) {
	case B_KCHAN_IOCTL:
		return kchan_batch_writer(sh, idx, a);
	case B_URING:
		return uring_side(sh, idx, a, 1);
	case B_MMSG:
		return mmsg_side(sh, idx, a, 1);
	default:
		return writev_writer(sh, idx, a);
	}
}

static int batch_reader(struct round_shared *sh, int idx, void *arg)
{
	struct batch_arg *a = arg;

	switch (a->f->mode) {
	case B_KCHAN_IOCTL:
		return kchan_batch_reader(sh, idx, a);
	case B_URING:
		return uring_side(sh, idx, a, 0);
	case B_MMSG:
		return mmsg_side(sh, idx, a, 0);
	default:
		return bulk_reader(sh, idx, a);
	}
}

double batch_round(struct figure *f, long iters)
{
	struct links *L = f->priv;
	struct round_shared *sh = L->sh;
	struct batch_arg a = { f, &L->a, iters };
	struct proc_spec spec[2] = {
		{ batch_writer, &a, 0 },
		{ batch_reader, &a, 1 },
	};
	int64_t ns;

	sh->total = iters;
	ns = run_procs(sh, spec, 2, f->pin);
	if (ns < 0)
		return ns;
	round_done(f, sh, ns, iters);
	f->calls_per_round = sh->proc[0].calls + sh->proc[1].calls;
	f->ops_per_round = sh->proc[0].ops + sh->proc[1].ops;
	if (sh->proc[0].iou_workers > f->iou_workers)
		f->iou_workers = sh->proc[0].iou_workers;
	if (sh->proc[1].iou_workers > f->iou_workers)
		f->iou_workers = sh->proc[1].iou_workers;
	if (f->unit == U_MBS)
		return (double)iters * f->size / ns * 1e3;
	return iters * 1e9 / ns;
}

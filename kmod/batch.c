// SPDX-License-Identifier: GPL-2.0
/*
 * Batched I/O: KCHAN_IOC_SEND_BATCH and KCHAN_IOC_RECV_BATCH move many
 * messages per system call, with one lock round per group of messages,
 * whoever they wake.  Only the first message of a batch may wait; the
 * rest move only if they can at once, so a batch never holds back a
 * message it has already moved.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kchan.h"

/* Messages moved per lock round. */
#define KCHAN_BATCH_GROUP	32

struct kchan_batch_job {
	struct kchan_msgvec __user *uvecs;
	unsigned int count;
	bool nonblock;
};

/*
 * The batch's arguments, for a file opened with @mode: each message has
 * the access rules of one read() or write().
 */
static int kchan_batch_args(struct file *file, fmode_t mode,
			    struct kchan_batch __user *uarg,
			    struct kchan_batch_job *job)
{
	struct kchan_batch arg;
	int ret;

	if (!(file->f_mode & mode))
		return -EBADF;
	ret = kchan_copy_arg(&arg, sizeof(arg), KCHAN_BATCH_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (arg.flags || arg.reserved0 || arg.reserved[0] || arg.reserved[1] ||
	    !arg.count || arg.count > KCHAN_BATCH_MAX)
		return -EINVAL;
	job->uvecs = u64_to_user_ptr(arg.msgs);
	job->count = arg.count;
	job->nonblock = file->f_flags & O_NONBLOCK;
	return 0;
}

static int kchan_get_vec(const struct kchan_batch_job *job, unsigned int i,
			 struct kchan_msgvec *vec)
{
	if (copy_from_user(vec, &job->uvecs[i], sizeof(*vec)))
		return -EFAULT;
	return vec->flags ? -EINVAL : 0;
}

/* Read message @i of the batch into a new kernel message. */
static struct kchan_msg *kchan_batch_msg(struct kchan *ch,
					 const struct kchan_batch_job *job,
					 unsigned int i)
{
	struct kchan_msgvec vec;
	struct kchan_msg *msg;
	int ret;

	ret = kchan_get_vec(job, i, &vec);
	if (ret)
		return ERR_PTR(ret);
	if (!vec.len)
		return ERR_PTR(-EINVAL);
	if (vec.len > ch->msg_max)
		return ERR_PTR(-EMSGSIZE);
	msg = kchan_msg_new(ch, vec.len);
	if (!msg)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(msg->data, u64_to_user_ptr(vec.buf), vec.len)) {
		kchan_msg_free(ch, msg);
		return ERR_PTR(-EFAULT);
	}
	return msg;
}

/* Queue @msgs[0..n) without waiting; returns how many the channel took. */
static int kchan_send_group(struct kchan *ch, struct kchan_msg **msgs, int n,
			    int *err)
{
	struct kchan_wake wake;
	int i;

	kchan_lock(ch, &wake);
	for (i = 0; i < n; i++) {
		*err = kchan_try_send_locked(ch, msgs[i], &wake);
		if (*err)
			break;
	}
	kchan_unlock(ch, &wake);
	return i;
}

long kchan_ioctl_send_batch(struct file *file, struct kchan_batch __user *uarg)
{
	struct kchan_msg *msgs[KCHAN_BATCH_GROUP], *msg;
	struct kchan *ch = file->private_data;
	struct kchan_batch_job job;
	unsigned int done = 0;
	int n, sent, err, bad;

	err = kchan_batch_args(file, FMODE_WRITE, uarg, &job);
	if (err)
		return err;
	if (kchan_is_timer(ch))
		return -EPERM;

	while (done < job.count) {
		/* Read a group in; @bad is why it stopped short, if it did. */
		for (n = 0, bad = 0; n < KCHAN_BATCH_GROUP && done + n < job.count; n++) {
			msg = kchan_batch_msg(ch, &job, done + n);
			if (IS_ERR(msg)) {
				bad = PTR_ERR(msg);
				break;
			}
			msgs[n] = msg;
		}
		sent = n ? kchan_send_group(ch, msgs, n, &err) : 0;
		if (!done && n && !sent && err == -EAGAIN && !job.nonblock) {
			/* Nothing moved yet: the first message may wait. */
			err = kchan_send(ch, msgs[0], false);
			if (!err)
				sent = 1 + kchan_send_group(ch, msgs + 1, n - 1, &err);
		}
		kchan_msg_free_many(ch, msgs + sent, n - sent);
		done += sent;
		if (sent < n)
			break;		/* err says why */
		if (bad) {
			err = bad;
			break;
		}
	}
	if (done)
		return done;
	if (err == -EPIPE)
		send_sig(SIGPIPE, current, 0);
	return err;
}

/*
 * Take up to @n messages for the buffers @vecs without waiting; *err (or
 * *eof, at end of file) says why it stopped short.
 */
static int kchan_recv_group(struct kchan *ch, const struct kchan_msgvec *vecs,
			    struct kchan_msg **msgs, int n, int *err, bool *eof)
{
	struct kchan_wake wake;
	int i;

	kchan_lock(ch, &wake);
	for (i = 0; i < n; i++) {
		*err = kchan_try_recv_locked(ch, vecs[i].len, &msgs[i], &wake);
		*eof = !*err && !msgs[i];
		if (*err || *eof)
			break;
	}
	kchan_unlock(ch, &wake);
	return i;
}

/* Copy @msgs out; on a fault, hand back the rest in order. */
static int kchan_recv_copy(struct kchan *ch, const struct kchan_batch_job *job,
			   unsigned int first, const struct kchan_msgvec *vecs,
			   struct kchan_msg **msgs, int n)
{
	int i, j;

	for (i = 0; i < n; i++) {
		if (copy_to_user(u64_to_user_ptr(vecs[i].buf), msgs[i]->data,
				 msgs[i]->len) ||
		    put_user((u32)msgs[i]->len, &job->uvecs[first + i].len))
			break;
	}
	kchan_recv_done(ch, msgs, i);
	for (j = n - 1; j >= i; j--)	/* last first: each goes to the head */
		kchan_unreceive(ch, msgs[j]);
	return i;
}

long kchan_ioctl_recv_batch(struct file *file, struct kchan_batch __user *uarg)
{
	struct kchan_msgvec vecs[KCHAN_BATCH_GROUP];
	struct kchan_msg *msgs[KCHAN_BATCH_GROUP];
	struct kchan *ch = file->private_data;
	struct kchan_batch_job job;
	unsigned int done = 0;
	int n, got, copied, err, bad;
	bool eof = false;

	err = kchan_batch_args(file, FMODE_READ, uarg, &job);
	if (err)
		return err;

	while (done < job.count) {
		for (n = 0, bad = 0; n < KCHAN_BATCH_GROUP && done + n < job.count; n++) {
			bad = kchan_get_vec(&job, done + n, &vecs[n]);
			if (bad)
				break;
		}
		got = n ? kchan_recv_group(ch, vecs, msgs, n, &err, &eof) : 0;
		if (!done && n && !got && err == -EAGAIN && !job.nonblock) {
			/* Nothing moved yet: the first message may wait. */
			err = kchan_recv(ch, vecs[0].len, false, &msgs[0]);
			eof = !err && !msgs[0];
			got = !err && !eof;
			if (got)
				got += kchan_recv_group(ch, vecs + 1, msgs + 1, n - 1,
							&err, &eof);
		}
		copied = kchan_recv_copy(ch, &job, done, vecs, msgs, got);
		done += copied;
		if (copied < got) {
			err = -EFAULT;
			break;
		}
		if (got < n)
			break;		/* err or eof says why */
		if (bad) {
			err = bad;
			break;
		}
	}
	if (done || eof)
		return done;
	return err;
}

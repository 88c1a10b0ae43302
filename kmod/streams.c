// SPDX-License-Identifier: GPL-2.0
/*
 * At-most-once sends, the other half of a lossless relay:
 * KCHAN_IOC_SEND_ONCE and KCHAN_IOC_STREAM_SEQ.
 *
 * A channel remembers, per stream, the last seq it accepted, in a table
 * of ch->nstreams entries (KCHAN_STREAMS_DEFAULT unless the creator chose
 * another size), allocated by the first SEND_ONCE.  An entry is never
 * evicted: a new stream with the table full fails with ENOSPC, so a
 * relay's dedupe state cannot vanish because others sent on more streams;
 * only a writer that says so (KCHAN_STREAM_FORGET) or destroy frees one.
 *
 * The table is checked (kchan_stream_check_locked()) and updated
 * (kchan_stream_record_locked()) in the same ch->lock hold that accepts
 * the message (queue.c), also when a reader accepts a blocked sender's
 * message, so two senders of one stream can never both deliver a seq.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kchan.h"

static struct kchan_stream *kchan_stream_find(struct kchan *ch, u64 stream)
{
	unsigned int i;

	if (!ch->streams)
		return NULL;
	for (i = 0; i < ch->nstreams; i++)
		if (ch->streams[i].stream == stream)
			return &ch->streams[i];
	return NULL;
}

/* 0 if @msg may be accepted, KCHAN_DUPLICATE, or -ENOSPC: no entry is free. */
int kchan_stream_check_locked(struct kchan *ch, const struct kchan_msg *msg)
{
	struct kchan_stream *s;

	lockdep_assert_held(&ch->lock);
	s = kchan_stream_find(ch, msg->once.stream);
	if (s)
		return msg->once.seq <= s->last_seq ? KCHAN_DUPLICATE : 0;
	return kchan_stream_find(ch, 0) ? 0 : -ENOSPC;
}

/* @msg was accepted: its stream's last seq is its seq (the check made room). */
void kchan_stream_record_locked(struct kchan *ch, const struct kchan_msg *msg)
{
	struct kchan_stream *s;

	lockdep_assert_held(&ch->lock);
	s = kchan_stream_find(ch, msg->once.stream);
	if (!s) {
		s = kchan_stream_find(ch, 0);
		s->stream = msg->once.stream;
	}
	s->last_seq = msg->once.seq;
}

/* The channel's table, allocated the first time it is needed. */
static int kchan_streams_alloc(struct kchan *ch)
{
	struct kchan_stream *table;

	if (READ_ONCE(ch->streams))	/* only ever set once, under ch->lock */
		return 0;
	table = kcalloc(ch->nstreams, sizeof(*table), GFP_KERNEL_ACCOUNT);
	if (!table)
		return -ENOMEM;
	spin_lock(&ch->lock);
	if (!ch->streams) {
		ch->streams = table;
		table = NULL;
	}
	spin_unlock(&ch->lock);
	kfree(table);	/* another sender's came first */
	return 0;
}

long kchan_ioctl_send_once(struct file *file,
			   struct kchan_send_once __user *uarg)
{
	struct kchan *ch = file->private_data;
	struct kchan_send_once arg;
	struct kchan_msg *msg;
	u32 result = 0;
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	ret = kchan_copy_arg(&arg, sizeof(arg), KCHAN_SEND_ONCE_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (arg.flags || arg.reserved0 || arg.reserved[0] || arg.reserved[1] ||
	    !arg.stream || !arg.seq || !arg.len)
		return -EINVAL;
	if (kchan_is_timer(ch))
		return -EPERM;
	if (arg.len > ch->msg_max)
		return -EMSGSIZE;
	ret = kchan_streams_alloc(ch);
	if (ret)
		return ret;

	msg = kchan_msg_alloc(arg.len);
	if (!msg)
		return -ENOMEM;
	if (copy_from_user(msg->data, u64_to_user_ptr(arg.buf), arg.len)) {
		kvfree(msg);
		return -EFAULT;
	}
	msg->once.stream = arg.stream;
	msg->once.seq = arg.seq;

	ret = kchan_send(ch, msg, file->f_flags & O_NONBLOCK);
	if (ret == KCHAN_DUPLICATE) {
		result = KCHAN_SEND_DUPLICATE;
		ret = 0;
	}
	if (ret || result)
		kvfree(msg);
	if (ret == -EPIPE)
		send_sig(SIGPIPE, current, 0);	/* as write() */
	if (ret)
		return ret;
	/* Sent even if this faults: a retry finds it a duplicate. */
	return put_user(result, &uarg->result_flags);
}

long kchan_ioctl_stream_seq(struct file *file,
			    struct kchan_stream_seq __user *uarg)
{
	struct kchan *ch = file->private_data;
	struct kchan_stream_seq arg;
	struct kchan_stream *s;
	u64 seq = 0;
	int ret;

	ret = kchan_copy_arg(&arg, sizeof(arg), KCHAN_STREAM_SEQ_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (arg.flags & ~KCHAN_STREAM_FORGET || arg.reserved[0] ||
	    arg.reserved[1] || !arg.stream)
		return -EINVAL;
	/* Forgetting lets the stream's old seqs through again: a sender's call. */
	if ((arg.flags & KCHAN_STREAM_FORGET) && !(file->f_mode & FMODE_WRITE))
		return -EBADF;

	spin_lock(&ch->lock);
	if (ch->dead) {
		spin_unlock(&ch->lock);
		return -ENODEV;
	}
	s = kchan_stream_find(ch, arg.stream);
	if (s) {
		seq = s->last_seq;
		if (arg.flags & KCHAN_STREAM_FORGET)
			*s = (struct kchan_stream){};
	}
	spin_unlock(&ch->lock);
	return put_user(seq, &uarg->seq);
}

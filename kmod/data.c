// SPDX-License-Identifier: GPL-2.0
/*
 * The channel file: open, read, write, poll, ioctl and release.  A read or
 * write that cannot complete at once waits on the channel's recvq or sendq
 * (see queue.c for the matching and its invariants).
 */
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "kchan.h"

static bool kchan_nonblock(const struct kiocb *iocb)
{
	return (iocb->ki_filp->f_flags & O_NONBLOCK) ||
	       (iocb->ki_flags & IOCB_NOWAIT);
}

/* Queue @msg, hand it to a reader, or wait until a reader takes it. */
int kchan_send(struct kchan *ch, struct kchan_msg *msg, bool nonblock)
{
	struct kchan_wake wake;
	struct kchan_waiter w;
	int ret;

	kchan_lock(ch, &wake);
	ret = kchan_try_send_locked(ch, msg, &wake);
	if (ret == -EAGAIN && !nonblock) {
		/* The reader that takes our message counts it as sent. */
		w.msg = msg;
		ret = kchan_wait(ch, &w, &ch->sendq, &wake);
	}
	kchan_unlock(ch, &wake);
	return ret;
}

/*
 * Take the next message for a reader whose buffer holds @room bytes;
 * *msgp is NULL at end of file.  The message is the caller's to copy out,
 * then kchan_recv_done(), or to hand back with kchan_unreceive().
 */
int kchan_recv(struct kchan *ch, size_t room, bool nonblock,
	       struct kchan_msg **msgp)
{
	struct kchan_wake wake;
	struct kchan_waiter w;
	int ret;

	kchan_lock(ch, &wake);
	ret = kchan_try_recv_locked(ch, room, msgp, &wake);
	if (ret == -EAGAIN && !nonblock) {
		w.room = room;
		w.msg = NULL;
		ret = kchan_wait(ch, &w, &ch->recvq, &wake);
		*msgp = ret ? NULL : w.msg;	/* NULL at end of file */
	}
	kchan_unlock(ch, &wake);
	return ret;
}

static ssize_t kchan_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct kchan *ch = iocb->ki_filp->private_data;
	struct kchan_msg *msg;
	size_t len;
	int ret;

	ret = kchan_recv(ch, iov_iter_count(to), kchan_nonblock(iocb), &msg);
	if (ret || !msg)
		return ret;

	len = msg->len;
	if (copy_to_iter(msg->data, len, to) != len) {
		kchan_unreceive(ch, msg);
		return -EFAULT;
	}
	kchan_recv_done(ch, &msg, 1);
	return len;
}

static ssize_t kchan_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct kchan *ch = iocb->ki_filp->private_data;
	size_t len = iov_iter_count(from);
	struct kchan_msg *msg;
	int ret;

	if (kchan_is_timer(ch))
		return -EPERM;	/* only its timer sends */
	if (!len)
		return 0;
	if (len > ch->msg_max)
		return -EMSGSIZE;

	msg = kchan_msg_new(ch, len);
	if (!msg)
		return -ENOMEM;
	if (!copy_from_iter_full(msg->data, len, from)) {
		kchan_msg_free(ch, msg);
		return -EFAULT;
	}

	ret = kchan_send(ch, msg, kchan_nonblock(iocb));
	if (ret) {
		kchan_msg_free(ch, msg);
		if (ret == -EPIPE)
			send_sig(SIGPIPE, current, 0);
		return ret;
	}
	return len;
}

/*
 * What poll reports on a file opened with @mode, under ch->lock.  Like a
 * pipe, a file that can still read a closed channel's messages reports
 * no EPOLLERR until they are drained: event loops take it as fatal.
 */
__poll_t kchan_poll_mask(const struct kchan *ch, fmode_t mode)
{
	__poll_t mask = 0;

	if (ch->dead)
		return EPOLLERR | EPOLLHUP;
	if (mode & FMODE_READ) {
		if (kchan_readable(ch))
			mask |= EPOLLIN | EPOLLRDNORM;
		else if (kchan_at_eof(ch))
			mask |= EPOLLHUP;
	}
	if (mode & FMODE_WRITE) {
		if (kchan_write_fails(ch)) {
			if (!(mode & FMODE_READ) || kchan_at_eof(ch))
				mask |= EPOLLERR;
		} else if (kchan_writable(ch)) {
			mask |= EPOLLOUT | EPOLLWRNORM;
		}
	}
	return mask;
}

/*
 * poll_wait() comes first and the state is read under ch->lock, which
 * every state change holds, and which kchan_unlock() releases before it
 * looks for pollers: a change after our look finds us on poll_wq.
 */
static __poll_t kchan_poll(struct file *file, poll_table *wait)
{
	struct kchan *ch = file->private_data;
	__poll_t mask;

	poll_wait(file, &ch->poll_wq, wait);

	spin_lock(&ch->lock);
	mask = kchan_poll_mask(ch, file->f_mode);
	spin_unlock(&ch->lock);
	return mask;
}

static long kchan_ioctl_info(struct kchan *ch, struct kchan_info __user *uinfo)
{
	struct kchan_info info;
	u32 usize;

	if (get_user(usize, &uinfo->size))
		return -EFAULT;
	if (usize < KCHAN_INFO_SIZE_VER0)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;

	kchan_fill_info(ch, &info);
	info.size = usize;	/* the caller's, unchanged */
	if (copy_to_user(uinfo, &info, min_t(size_t, usize, sizeof(info))))
		return -EFAULT;
	/* A newer caller's fields we do not know are zero. */
	if (usize > sizeof(info) &&
	    clear_user((char __user *)uinfo + sizeof(info), usize - sizeof(info)))
		return -EFAULT;
	return 0;
}

static long kchan_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kchan *ch = file->private_data;

	switch (KCHAN_IOC_BASE(cmd)) {
	case KCHAN_IOC_BASE(KCHAN_IOC_CLOSE):
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return kchan_close(ch);
	case KCHAN_IOC_BASE(KCHAN_IOC_INFO):
		return kchan_ioctl_info(ch, (struct kchan_info __user *)arg);
	case KCHAN_IOC_BASE(KCHAN_IOC_SEND_BATCH):
		return kchan_ioctl_send_batch(file, (struct kchan_batch __user *)arg);
	case KCHAN_IOC_BASE(KCHAN_IOC_RECV_BATCH):
		return kchan_ioctl_recv_batch(file, (struct kchan_batch __user *)arg);
	case KCHAN_IOC_BASE(KCHAN_IOC_SELECT):
		return kchan_ioctl_select((struct kchan_select __user *)arg);
	case KCHAN_IOC_BASE(KCHAN_IOC_HOLD):
		return kchan_ioctl_hold(file, (struct kchan_hold __user *)arg);
	case KCHAN_IOC_BASE(KCHAN_IOC_ACK):
		return kchan_ioctl_ack(file, (struct kchan_ack __user *)arg, true);
	case KCHAN_IOC_BASE(KCHAN_IOC_RETURN):
		return kchan_ioctl_ack(file, (struct kchan_ack __user *)arg, false);
	case KCHAN_IOC_BASE(KCHAN_IOC_SEND_ONCE):
		return kchan_ioctl_send_once(file, (struct kchan_send_once __user *)arg);
	case KCHAN_IOC_BASE(KCHAN_IOC_STREAM_SEQ):
		return kchan_ioctl_stream_seq(file, (struct kchan_stream_seq __user *)arg);
	default:
		return -ENOTTY;
	}
}

/*
 * @file, open or just made, becomes a user of @ch: its reference, and its
 * count as a reader and writer.  ENODEV once the channel is destroyed.
 */
int kchan_file_attach(struct kchan *ch, struct file *file)
{
	spin_lock(&ch->lock);
	if (ch->dead) {
		spin_unlock(&ch->lock);
		return -ENODEV;
	}
	if (file->f_mode & FMODE_READ)
		ch->readers++;
	if (file->f_mode & FMODE_WRITE)
		ch->writers++;
	kchan_get(ch);			/* the file's reference */
	spin_unlock(&ch->lock);

	file->private_data = ch;
	file->f_mode |= FMODE_NOWAIT;	/* we honour IOCB_NOWAIT: io_uring needs no worker */
	return stream_open(file_inode(file), file);
}

/* The inode holds the channel until it is evicted, after this file's release. */
static int kchan_open(struct inode *inode, struct file *file)
{
	return kchan_file_attach(inode->i_private, file);
}

static int kchan_release(struct inode *inode, struct file *file)
{
	struct kchan *ch = file->private_data;
	struct kchan_wake wake;

	kchan_lock(ch, &wake);
	if (file->f_mode & FMODE_READ) {
		kchan_hold_release_locked(ch, file, &wake);
		ch->readers--;
	}
	if ((file->f_mode & FMODE_WRITE) && !--ch->writers &&
	    (ch->flags & KCHAN_CREATE_AUTOCLOSE))
		kchan_close_locked(ch, &wake);
	kchan_unlock(ch, &wake);
	kchan_put(ch);
	return 0;
}

/* /proc/<pid>/fdinfo/<fd>: what KCHAN_IOC_INFO tells, for the shell */
static void kchan_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct kchan_info info;

	kchan_fill_info(file->private_data, &info);
	seq_printf(m, "kchan-id:\t%016llx\n", info.id);
	seq_printf(m, "capacity:\t%u\n", info.capacity);
	seq_printf(m, "length:\t%u\n", info.length);
	seq_printf(m, "msg_max:\t%u\n", info.msg_max);
	seq_printf(m, "readers:\t%u\n", info.readers);
	seq_printf(m, "writers:\t%u\n", info.writers);
	seq_printf(m, "sent:\t%llu\n", info.sent);
	seq_printf(m, "received:\t%llu\n", info.received);
	seq_printf(m, "dropped:\t%llu\n", info.dropped);
	seq_printf(m, "held:\t%u\n", info.held);
	seq_printf(m, "closed:\t%d\n", !!(info.state & KCHAN_STATE_CLOSED));
	seq_printf(m, "destroyed:\t%d\n", !!(info.state & KCHAN_STATE_DESTROYED));
}

const struct file_operations kchan_fops = {
	.owner = THIS_MODULE,
	.open = kchan_open,
	.release = kchan_release,
	.read_iter = kchan_read_iter,
	.write_iter = kchan_write_iter,
	.poll = kchan_poll,
	.unlocked_ioctl = kchan_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.show_fdinfo = kchan_show_fdinfo,
};

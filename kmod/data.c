// SPDX-License-Identifier: GPL-2.0
/*
 * The channel file: open, read, write, poll, ioctl and release.
 *
 * Invariants, all under ch->lock:
 *  - recvq is non-empty only while queue and sendq are empty: a reader
 *    waits only when there is nothing to take, and a writer hands its
 *    message to the first waiting reader before it looks at the queue.
 *  - sendq holds writers that found neither a waiting reader nor room
 *    (always so on an unbuffered channel), oldest first.
 *  - closed or dead implies sendq and recvq are empty.
 * Each message wakes at most one reader or writer, the one it concerns.
 */
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "kchan.h"

static bool kchan_nonblock(const struct kiocb *iocb)
{
	return (iocb->ki_filp->f_flags & O_NONBLOCK) ||
	       (iocb->ki_flags & IOCB_NOWAIT);
}

static void kchan_wake_pollers(struct kchan *ch, __poll_t events)
{
	if (wq_has_sleeper(&ch->poll_wq))
		wake_up_poll(&ch->poll_wq, events);
}

/*
 * Wake a task taken off a queue under ch->lock, now that the lock is
 * released: it finds its result without waiting for us.  The reference,
 * taken under the lock, keeps the task alive even if it has already
 * returned (ipc/mqueue.c learnt this the hard way, CVE-2021-47069).
 */
static void kchan_wake_task(struct task_struct *task)
{
	if (task) {
		wake_up_process(task);
		put_task_struct(task);
	}
}

static struct task_struct *kchan_dequeue_waiter(struct kchan_waiter *w,
						int result)
{
	list_del_init(&w->link);
	w->result = result;
	return get_task_struct(w->task);
}

/*
 * Give @msg to the first waiting reader whose buffer holds it.  A reader
 * whose buffer is too small fails with EMSGSIZE, as its read would have
 * on a queued message.  Returns the reader to wake, or NULL if none.
 */
static struct task_struct *kchan_hand_off(struct kchan *ch,
					  struct kchan_msg *msg)
{
	struct kchan_waiter *w;

	while ((w = list_first_entry_or_null(&ch->recvq, struct kchan_waiter,
					     link))) {
		if (msg->len <= w->room) {
			w->msg = msg;
			return kchan_dequeue_waiter(w, 0);
		}
		list_del_init(&w->link);
		w->result = -EMSGSIZE;
		wake_up_process(w->task);	/* rare: wake under the lock */
	}
	return NULL;
}

/*
 * Sleep on @q until a counterpart sets our result, or a signal comes.
 * Called and returns with ch->lock held.  @ready is the poll event our
 * waiting makes true (a waiting reader makes an unbuffered channel
 * writable), announced to pollers before we sleep.
 *
 * No wake-up is lost: the result is set and read under ch->lock, and we
 * are TASK_INTERRUPTIBLE before the lock is dropped.  No signal is lost:
 * schedule() does not sleep in that state with a signal pending.
 */
static int kchan_wait(struct kchan *ch, struct kchan_waiter *w,
		      struct list_head *q, __poll_t ready)
{
	w->task = current;
	w->result = KCHAN_WAITING;
	list_add_tail(&w->link, q);
	if (ready && wq_has_sleeper(&ch->poll_wq)) {
		spin_unlock(&ch->lock);
		wake_up_poll(&ch->poll_wq, ready);
		spin_lock(&ch->lock);
	}
	while (w->result == KCHAN_WAITING) {
		if (signal_pending(current)) {
			list_del(&w->link);
			return -ERESTARTSYS;
		}
		set_current_state(TASK_INTERRUPTIBLE);
		spin_unlock(&ch->lock);
		schedule();
		spin_lock(&ch->lock);
	}
	return w->result;
}

/* Queue @msg, hand it to a reader, or wait until a reader takes it. */
static int kchan_send(struct kchan *ch, struct kchan_msg *msg, bool nonblock)
{
	struct task_struct *wake = NULL;
	struct kchan_waiter w;
	bool queued = false;
	int ret = 0;

	spin_lock(&ch->lock);
	if (!ch->dead && !ch->closed)
		wake = kchan_hand_off(ch, msg);
	if (ch->dead) {
		ret = -ENODEV;
	} else if (ch->closed) {
		ret = -EPIPE;
	} else if (wake) {
		ch->sent++;
	} else if (ch->length < ch->capacity) {
		list_add_tail(&msg->link, &ch->queue);
		ch->length++;
		ch->sent++;
		queued = true;
	} else if (nonblock) {
		ret = -EAGAIN;
	} else {
		/* The reader that takes our message counts it as sent. */
		w.msg = msg;
		ret = kchan_wait(ch, &w, &ch->sendq,
				 ch->capacity ? 0 : EPOLLIN | EPOLLRDNORM);
	}
	spin_unlock(&ch->lock);

	kchan_wake_task(wake);
	if (queued)
		kchan_wake_pollers(ch, EPOLLIN | EPOLLRDNORM);
	return ret;
}

/*
 * Take the next message for a reader whose buffer holds @room bytes;
 * *msgp is NULL at end of file.  The message is the caller's until it is
 * copied out, or handed back with kchan_unreceive().
 */
static int kchan_recv(struct kchan *ch, size_t room, bool nonblock,
		      struct kchan_msg **msgp)
{
	struct task_struct *wake = NULL;
	struct kchan_msg *msg = NULL;
	struct kchan_waiter *sender, w;
	bool freed_slot = false;
	int ret = 0;

	spin_lock(&ch->lock);
	msg = list_first_entry_or_null(&ch->queue, struct kchan_msg, link);
	sender = list_first_entry_or_null(&ch->sendq, struct kchan_waiter, link);
	if (ch->dead) {
		ret = -ENODEV;
	} else if (msg) {
		if (msg->len > room)
			goto too_big;
		list_del(&msg->link);
		ch->length--;
		if (sender) {
			/* The freed slot goes to the oldest waiting writer. */
			list_add_tail(&sender->msg->link, &ch->queue);
			ch->length++;
			ch->sent++;
			wake = kchan_dequeue_waiter(sender, 0);
		} else {
			freed_slot = true;
		}
	} else if (sender) {
		/* Unbuffered: take the message straight from the writer. */
		msg = sender->msg;
		if (msg->len > room)
			goto too_big;
		ch->sent++;
		wake = kchan_dequeue_waiter(sender, 0);
	} else if (ch->closed) {
		/* Drained and closed: end of file, msg stays NULL. */
	} else if (nonblock) {
		ret = -EAGAIN;
	} else {
		w.room = room;
		w.msg = NULL;
		ret = kchan_wait(ch, &w, &ch->recvq,
				 ch->capacity ? 0 : EPOLLOUT | EPOLLWRNORM);
		if (!ret)
			msg = w.msg;	/* NULL if woken by close */
	}
	if (ret)
		msg = NULL;
	if (msg)
		ch->received++;
	spin_unlock(&ch->lock);

	kchan_wake_task(wake);
	if (freed_slot)
		kchan_wake_pollers(ch, EPOLLOUT | EPOLLWRNORM);
	*msgp = msg;
	return ret;

too_big:
	spin_unlock(&ch->lock);
	*msgp = NULL;
	return -EMSGSIZE;
}

/*
 * The reader could not copy @msg out: put it back at the head, where the
 * next reader gets it (possibly one above capacity for a while).
 */
static void kchan_unreceive(struct kchan *ch, struct kchan_msg *msg)
{
	struct task_struct *wake = NULL;

	spin_lock(&ch->lock);
	ch->received--;
	if (ch->dead) {
		spin_unlock(&ch->lock);
		kvfree(msg);
		return;
	}
	wake = kchan_hand_off(ch, msg);
	if (!wake) {
		list_add(&msg->link, &ch->queue);
		ch->length++;
	}
	spin_unlock(&ch->lock);

	if (wake)
		kchan_wake_task(wake);
	else
		kchan_wake_pollers(ch, EPOLLIN | EPOLLRDNORM);
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
	kvfree(msg);
	return len;
}

static ssize_t kchan_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct kchan *ch = iocb->ki_filp->private_data;
	size_t len = iov_iter_count(from);
	struct kchan_msg *msg;
	int ret;

	if (!len)
		return 0;
	if (len > ch->msg_max)
		return -EMSGSIZE;

	msg = kvmalloc(struct_size(msg, data, len), GFP_KERNEL_ACCOUNT);
	if (!msg)
		return -ENOMEM;
	msg->len = len;
	if (!copy_from_iter_full(msg->data, len, from)) {
		kvfree(msg);
		return -EFAULT;
	}

	ret = kchan_send(ch, msg, kchan_nonblock(iocb));
	if (ret) {
		kvfree(msg);
		if (ret == -EPIPE)
			send_sig(SIGPIPE, current, 0);
		return ret;
	}
	return len;
}

/*
 * poll_wait() comes first and the state is read under ch->lock, which
 * every state change holds before it checks for pollers: a change after
 * our look finds us on poll_wq and wakes us.
 */
static __poll_t kchan_poll(struct file *file, poll_table *wait)
{
	struct kchan *ch = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &ch->poll_wq, wait);

	spin_lock(&ch->lock);
	if (ch->dead) {
		mask = EPOLLERR | EPOLLHUP;
		goto out;
	}
	if (file->f_mode & FMODE_READ) {
		if (ch->length || !list_empty(&ch->sendq))
			mask |= EPOLLIN | EPOLLRDNORM;
		else if (ch->closed)
			mask |= EPOLLHUP;
	}
	if (file->f_mode & FMODE_WRITE) {
		if (ch->closed)
			mask |= EPOLLERR;
		else if (ch->length < ch->capacity || !list_empty(&ch->recvq))
			mask |= EPOLLOUT | EPOLLWRNORM;
	}
out:
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

	switch (cmd) {
	case KCHAN_IOC_CLOSE:
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return kchan_close(ch);
	case KCHAN_IOC_INFO:
		return kchan_ioctl_info(ch, (struct kchan_info __user *)arg);
	default:
		return -ENOTTY;
	}
}

static int kchan_open(struct inode *inode, struct file *file)
{
	struct kchan *ch = container_of(inode->i_cdev, struct kchan, cdev);

	spin_lock(&ch->lock);
	if (ch->dead) {
		spin_unlock(&ch->lock);
		return -ENODEV;
	}
	if (file->f_mode & FMODE_READ)
		ch->readers++;
	if (file->f_mode & FMODE_WRITE)
		ch->writers++;
	spin_unlock(&ch->lock);

	get_device(&ch->dev);		/* the file's reference */
	file->private_data = ch;
	file->f_mode |= FMODE_NOWAIT;	/* we honour IOCB_NOWAIT: io_uring needs no worker */
	return stream_open(inode, file);
}

static int kchan_release(struct inode *inode, struct file *file)
{
	struct kchan *ch = file->private_data;
	bool closed = false;

	spin_lock(&ch->lock);
	if (file->f_mode & FMODE_READ)
		ch->readers--;
	if ((file->f_mode & FMODE_WRITE) && !--ch->writers &&
	    (ch->flags & KCHAN_CREATE_AUTOCLOSE))
		closed = !kchan_close_locked(ch);
	spin_unlock(&ch->lock);

	if (closed)
		kchan_wake_all_pollers(ch);
	put_device(&ch->dev);
	return 0;
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
};

// SPDX-License-Identifier: GPL-2.0
/*
 * The two halves of a lossless relay (chanbridge): held receive
 * (KCHAN_IOC_HOLD, _ACK, _RETURN) and at-most-once sends
 * (KCHAN_IOC_SEND_ONCE, _STREAM_SEQ).
 *
 * A held message stays the channel's: it sits on ch->held_msgs, tagged
 * with the file that holds it and its hold id, and counts in ch->held,
 * which keeps its slot taken (kchan_has_room()) and end of file away
 * (kchan_at_eof()).  Only its file can ack it (freed: the slot goes to a
 * waiting writer) or return it (back into the queue at the place its seq
 * gives it, or straight to a waiting reader).  A hold counts in ch->held
 * from the moment it takes the message, but joins held_msgs only once the
 * message is copied out: until then no ack can free it under the copy.
 *
 * The stream table of SEND_ONCE is checked and updated in the same
 * ch->lock hold that accepts the message (kchan_accept_locked()), also
 * when a reader accepts a blocked sender's message, so two senders of one
 * stream can never both deliver a seq.
 */
#include <linux/list_sort.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kchan.h"

void kchan_free_msgs(struct list_head *msgs)
{
	struct kchan_msg *msg, *next;

	list_for_each_entry_safe(msg, next, msgs, link)
		kvfree(msg);
}

/* ----- streams ---------------------------------------------------------- */

static struct kchan_stream *kchan_stream_find(struct kchan *ch, u64 stream)
{
	int i;

	for (i = 0; i < KCHAN_STREAMS_MAX; i++)
		if (ch->streams[i].stream == stream)
			return &ch->streams[i];
	return NULL;
}

/* The least recently used entry; a free one has last_use 0. */
static struct kchan_stream *kchan_stream_victim(struct kchan *ch)
{
	struct kchan_stream *victim = &ch->streams[0];
	int i;

	for (i = 1; i < KCHAN_STREAMS_MAX; i++)
		if (ch->streams[i].last_use < victim->last_use)
			victim = &ch->streams[i];
	return victim;
}

/* True if @msg is a SEND_ONCE whose seq its stream already passed. */
bool kchan_stream_dup_locked(struct kchan *ch, struct kchan_msg *msg)
{
	struct kchan_stream *s;

	lockdep_assert_held(&ch->lock);
	if (!msg->once.stream)
		return false;
	s = kchan_stream_find(ch, msg->once.stream);
	if (!s)
		return false;
	s->last_use = ++ch->stream_clock;	/* a relay resending: still in use */
	return msg->once.seq <= s->last_seq;
}

/*
 * The channel takes @msg (queued, or handed to a reader): it gets its
 * place in the channel's history, and a SEND_ONCE its stream's last seq.
 * The caller checked kchan_stream_dup_locked() in the same lock hold.
 */
void kchan_accept_locked(struct kchan *ch, struct kchan_msg *msg)
{
	struct kchan_stream *s;

	lockdep_assert_held(&ch->lock);
	msg->seq = ++ch->sent;
	if (!msg->once.stream)
		return;
	s = kchan_stream_find(ch, msg->once.stream);
	if (!s) {
		s = kchan_stream_victim(ch);
		s->stream = msg->once.stream;
	}
	s->last_seq = msg->once.seq;
	s->last_use = ++ch->stream_clock;
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

long kchan_ioctl_stream_seq(struct kchan *ch,
			    struct kchan_stream_seq __user *uarg)
{
	struct kchan_stream_seq arg;
	struct kchan_stream *s;
	u64 seq = 0;
	int ret;

	ret = kchan_copy_arg(&arg, sizeof(arg), KCHAN_STREAM_SEQ_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (arg.flags || arg.reserved[0] || arg.reserved[1] || !arg.stream)
		return -EINVAL;

	spin_lock(&ch->lock);
	if (ch->dead) {
		spin_unlock(&ch->lock);
		return -ENODEV;
	}
	s = kchan_stream_find(ch, arg.stream);
	if (s)
		seq = s->last_seq;
	spin_unlock(&ch->lock);
	return put_user(seq, &uarg->seq);
}

/* ----- held receive ----------------------------------------------------- */

/* A match under ch->lock woke a task: wake it now, the lock still held. */
static void kchan_wake_task_locked(struct kchan_wake *wake)
{
	if (!wake->task)
		return;
	/* It reads its result under ch->lock: it cannot be gone yet. */
	wake_up_process(wake->task);
	put_task_struct(wake->task);
	wake->task = NULL;
}

/*
 * Put @msg, already accepted, back where its seq belongs: to the first
 * waiting reader, else into the queue at its seq's place, searching from
 * @from (the queue's head, or where the previous, older one went).
 * Returns where it went.
 */
static struct list_head *kchan_requeue_from(struct kchan *ch,
					    struct kchan_msg *msg,
					    struct list_head *from,
					    struct kchan_wake *wake)
{
	struct list_head *pos;

	if (kchan_hand_off(ch, msg, wake))
		return from;
	for (pos = from->next; pos != &ch->queue; pos = pos->next)
		if (list_entry(pos, struct kchan_msg, link)->seq > msg->seq)
			break;
	list_add_tail(&msg->link, pos);
	ch->length++;
	wake->poll |= EPOLLIN | EPOLLRDNORM;
	return &msg->link;
}

void kchan_requeue_locked(struct kchan *ch, struct kchan_msg *msg,
			  struct kchan_wake *wake)
{
	lockdep_assert_held(&ch->lock);
	kchan_requeue_from(ch, msg, &ch->queue, wake);
}

static int kchan_seq_cmp(void *priv, const struct list_head *a,
			 const struct list_head *b)
{
	u64 sa = list_entry(a, struct kchan_msg, link)->seq;
	u64 sb = list_entry(b, struct kchan_msg, link)->seq;

	return sa > sb;
}

/*
 * Return the messages @file holds with an id >= @from_id (0: all), oldest
 * seq first, so the queue keeps FIFO order whoever returns what.
 */
static unsigned int kchan_return_locked(struct kchan *ch, struct file *file,
					u64 from_id, struct kchan_wake *wake)
{
	struct kchan_msg *msg, *next;
	struct list_head *pos = &ch->queue;
	unsigned int n = 0;
	LIST_HEAD(back);

	lockdep_assert_held(&ch->lock);
	list_for_each_entry_safe(msg, next, &ch->held_msgs, link) {
		if (msg->hold.file == file && msg->hold.id >= from_id) {
			list_move_tail(&msg->link, &back);
			n++;
		}
	}
	if (!n)
		return 0;
	list_sort(NULL, &back, kchan_seq_cmp);
	ch->held -= n;
	ch->received -= n;	/* counted again when read */
	list_for_each_entry_safe(msg, next, &back, link) {
		list_del(&msg->link);
		pos = kchan_requeue_from(ch, msg, pos, wake);
		kchan_wake_task_locked(wake);
	}
	return n;
}

/*
 * Free the messages @file holds with an id <= @id.  Their slots go to the
 * oldest waiting writers; the last one on a closed channel is its end of
 * file, for blocked readers too.
 */
static unsigned int kchan_ack_locked(struct kchan *ch, struct file *file,
				     u64 id, struct list_head *freed,
				     struct kchan_wake *wake)
{
	struct kchan_msg *msg, *next;
	unsigned int n = 0;

	lockdep_assert_held(&ch->lock);
	list_for_each_entry_safe(msg, next, &ch->held_msgs, link) {
		if (msg->hold.file == file && msg->hold.id <= id) {
			list_move_tail(&msg->link, freed);
			n++;
		}
	}
	if (!n)
		return 0;
	ch->held -= n;
	while (kchan_has_room(ch) && kchan_admit_writer(ch, wake)) {
		wake->poll |= EPOLLIN | EPOLLRDNORM;
		kchan_wake_task_locked(wake);
	}
	if (kchan_has_room(ch))
		wake->poll |= EPOLLOUT | EPOLLWRNORM;
	if (kchan_at_eof(ch)) {
		kchan_fail_waiters(&ch->recvq, 0);
		wake->poll |= EPOLLIN | EPOLLRDNORM | EPOLLHUP;
	}
	return n;
}

long kchan_ioctl_ack(struct file *file, struct kchan_ack __user *uarg,
		     bool ack)
{
	struct kchan *ch = file->private_data;
	struct kchan_wake wake = {};
	struct kchan_ack arg;
	unsigned int n;
	LIST_HEAD(freed);
	int ret;

	ret = kchan_copy_arg(&arg, sizeof(arg), KCHAN_ACK_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (arg.flags || arg.reserved0 || arg.reserved[0] || arg.reserved[1])
		return -EINVAL;

	spin_lock(&ch->lock);
	if (ch->dead) {
		spin_unlock(&ch->lock);
		return -ENODEV;
	}
	if (ack)
		n = kchan_ack_locked(ch, file, arg.id, &freed, &wake);
	else
		n = kchan_return_locked(ch, file, arg.id, &wake);
	spin_unlock(&ch->lock);
	kchan_wake(ch, &wake);
	kchan_free_msgs(&freed);
	return put_user(n, &uarg->count);
}

/* The file goes: what it still holds goes back to the channel. */
void kchan_hold_release(struct kchan *ch, struct file *file)
{
	struct kchan_wake wake = {};

	spin_lock(&ch->lock);
	kchan_return_locked(ch, file, 0, &wake);
	spin_unlock(&ch->lock);
	kchan_wake(ch, &wake);
}

/* Destroy: held messages go with the queue, but not those still copying out. */
void kchan_hold_kill_locked(struct kchan *ch, struct list_head *dropped)
{
	struct kchan_msg *msg, *next;

	lockdep_assert_held(&ch->lock);
	list_for_each_entry_safe(msg, next, &ch->held_msgs, link) {
		list_move_tail(&msg->link, dropped);
		ch->held--;
	}
}

/* Write the results of a hold back; -EFAULT if the caller cannot see them. */
static int kchan_hold_copy_out(struct kchan_hold __user *uarg,
			       const struct kchan_hold *arg,
			       const struct kchan_msg *msg, u64 id)
{
	if (copy_to_user(u64_to_user_ptr(arg->buf), msg->data, msg->len) ||
	    put_user((u64)msg->len, &uarg->len) ||
	    put_user(id, &uarg->id) || put_user(msg->seq, &uarg->seq))
		return -EFAULT;
	return 0;
}

long kchan_ioctl_hold(struct file *file, struct kchan_hold __user *uarg)
{
	struct kchan *ch = file->private_data;
	struct kchan_wake wake = {};
	struct kchan_hold arg;
	struct kchan_msg *msg;
	size_t room;
	u64 id;
	int ret;

	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	ret = kchan_copy_arg(&arg, sizeof(arg), KCHAN_HOLD_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if (arg.flags || arg.reserved[0] || arg.reserved[1])
		return -EINVAL;
	room = min_t(u64, arg.len, SIZE_MAX);

	spin_lock(&ch->lock);
	if (ch->dead) {
		ret = -ENODEV;
		goto unlock;
	}
	if (kchan_at_eof(ch)) {
		spin_unlock(&ch->lock);
		if (put_user(0ULL, &uarg->len) || put_user(0ULL, &uarg->id) ||
		    put_user(0ULL, &uarg->seq))
			return -EFAULT;
		return 0;
	}
	if (ch->held >= (ch->capacity ?: KCHAN_HOLD_UNBUFFERED)) {
		ret = -ENOBUFS;
		goto unlock;
	}
	/* Held from here on: a dequeue frees no slot (kchan_has_room()). */
	ch->held++;
	ret = kchan_try_recv_locked(ch, room, &msg, &wake);
	if (!ret && !msg)
		ret = -EAGAIN;	/* not at EOF: we hold one */
	if (ret) {
		ch->held--;
		goto unlock;
	}
	id = ++ch->hold_id;
	spin_unlock(&ch->lock);
	kchan_wake(ch, &wake);

	ret = kchan_hold_copy_out(uarg, &arg, msg, id);

	wake = (struct kchan_wake){};
	spin_lock(&ch->lock);
	if (ret || ch->dead) {
		/* Nothing held: as if read() had put it back (kchan_unreceive()). */
		ch->held--;
		ch->received--;
		if (ch->dead) {
			ret = -ENODEV;
			spin_unlock(&ch->lock);
			kvfree(msg);
			return ret;
		}
		kchan_requeue_locked(ch, msg, &wake);
		goto unlock;
	}
	msg->hold.file = file;
	msg->hold.id = id;
	list_add_tail(&msg->link, &ch->held_msgs);
	ret = msg->len;
unlock:
	spin_unlock(&ch->lock);
	kchan_wake(ch, &wake);
	return ret;
}

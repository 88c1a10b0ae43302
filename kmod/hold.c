// SPDX-License-Identifier: GPL-2.0
/*
 * Held receive, one half of a lossless relay (chanbridge; streams.c is
 * the other): KCHAN_IOC_HOLD, _ACK and _RETURN.
 *
 * A held message stays the channel's: it sits on ch->held_msgs, tagged
 * with the file that holds it and its hold id, and counts in ch->held,
 * which keeps its slot taken (kchan_has_room()) and end of file away
 * (kchan_at_eof()).  Only its file can ack it (freed: the slot goes to a
 * waiting writer) or return it (back into the queue at the place its seq
 * gives it, or straight to a waiting reader).  While a hold copies the
 * message out it counts in ch->copying, like any receive; it joins
 * held_msgs only once the copy is done, so no ack can free it under the
 * copy.  Whatever a return, an ack or a failed copy changes, the settling
 * of kchan_unlock() passes on: freed slots to writers, end of file to
 * readers, readiness to pollers.
 *
 * A hold reports the message's deliveries: 1 + msg->returns, the times a
 * receive had it out and gave it back (a return, the release of its file,
 * a faulting copy-out of any receive), save the returns its holder marked
 * KCHAN_RETURN_UNSENT.  1 means that no relay can have sent it yet:
 * chanbridge's source trusts a far side's RESUME only that far.
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

/* ----- held receive ----------------------------------------------------- */

static int kchan_seq_cmp(void *priv, const struct list_head *a,
			 const struct list_head *b)
{
	u64 sa = list_entry(a, struct kchan_msg, link)->seq;
	u64 sb = list_entry(b, struct kchan_msg, link)->seq;

	return sa > sb;
}

/*
 * Return the messages @file holds with an id >= @from_id (0: all), oldest
 * seq first, so the queue keeps FIFO order whoever returns what.  Each
 * counts as returned unless @unsent: its holder says it passed none of
 * them on (KCHAN_RETURN_UNSENT), so the hold is undone.
 */
static unsigned int kchan_return_locked(struct kchan *ch, struct file *file,
					u64 from_id, bool unsent,
					struct kchan_wake *wake)
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
		if (!unsent)
			kchan_msg_returned(msg);
		pos = kchan_requeue_from(ch, msg, pos, wake);
	}
	return n;
}

/* Free the messages @file holds with an id <= @id; the settling passes on their slots. */
static unsigned int kchan_ack_locked(struct kchan *ch, struct file *file,
				     u64 id, struct list_head *freed)
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
	ch->held -= n;
	return n;
}

long kchan_ioctl_ack(struct file *file, struct kchan_ack __user *uarg,
		     bool ack)
{
	struct kchan *ch = file->private_data;
	struct kchan_wake wake;
	struct kchan_ack arg;
	unsigned int n;
	LIST_HEAD(freed);
	int ret;

	if (!(file->f_mode & FMODE_READ))
		return -EBADF;	/* only a reading file holds anything */
	ret = kchan_copy_arg(&arg, sizeof(arg), KCHAN_ACK_SIZE_VER0, uarg);
	if (ret)
		return ret;
	if ((arg.flags & ~(ack ? 0 : KCHAN_RETURN_UNSENT)) || arg.reserved0 ||
	    arg.reserved[0] || arg.reserved[1])
		return -EINVAL;

	kchan_lock(ch, &wake);
	if (ch->dead) {
		kchan_unlock(ch, &wake);
		return -ENODEV;
	}
	if (ack)
		n = kchan_ack_locked(ch, file, arg.id, &freed);
	else
		n = kchan_return_locked(ch, file, arg.id,
					arg.flags & KCHAN_RETURN_UNSENT, &wake);
	kchan_unlock(ch, &wake);
	kchan_free_msgs(&freed);
	return put_user(n, &uarg->count);
}

/* The file goes: what it still holds goes back to the channel. */
void kchan_hold_release_locked(struct kchan *ch, struct file *file,
			       struct kchan_wake *wake)
{
	kchan_return_locked(ch, file, 0, false, wake);	/* may have been sent */
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
			       const struct kchan_msg *msg, u64 id,
			       u32 deliveries)
{
	if (copy_to_user(u64_to_user_ptr(arg->buf), msg->data, msg->len) ||
	    put_user((u64)msg->len, &uarg->len) ||
	    put_user(id, &uarg->id) || put_user(msg->seq, &uarg->seq) ||
	    put_user(deliveries, &uarg->deliveries))
		return -EFAULT;
	return 0;
}

long kchan_ioctl_hold(struct file *file, struct kchan_hold __user *uarg)
{
	struct kchan *ch = file->private_data;
	struct kchan_wake wake;
	struct kchan_hold arg;
	struct kchan_msg *msg;
	u32 deliveries;
	size_t room;
	u64 id;
	int ret;

	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	ret = kchan_copy_arg(&arg, sizeof(arg), KCHAN_HOLD_SIZE_VER0, uarg);
	if (ret)
		return ret;
	/* deliveries is output only, like len, id and seq: a reused struct is fine. */
	if (arg.flags || arg.reserved0 || arg.reserved1)
		return -EINVAL;
	room = min_t(u64, arg.len, SIZE_MAX);

	kchan_lock(ch, &wake);
	if (ch->dead) {
		ret = -ENODEV;
		goto unlock;
	}
	if (kchan_at_eof(ch)) {
		kchan_unlock(ch, &wake);
		if (put_user(0ULL, &uarg->len) || put_user(0ULL, &uarg->id) ||
		    put_user(0ULL, &uarg->seq) || put_user(0U, &uarg->deliveries))
			return -EFAULT;
		return 0;
	}
	/* Holds still copying out count: two at once must not both pass. */
	if (ch->held + ch->holding >= (ch->capacity ?: KCHAN_HOLD_UNBUFFERED)) {
		ret = -ENOBUFS;
		goto unlock;
	}
	/* The message counts in ch->copying until it is held, or back. */
	ret = kchan_try_recv_locked(ch, room, &msg, &wake);
	if (!ret && !msg)
		ret = -EAGAIN;	/* cannot be: end of file was ruled out above */
	if (ret)
		goto unlock;
	ch->holding++;
	id = ++ch->hold_id;
	/* Every earlier delivery that came back counted (kchan_msg_returned()). */
	deliveries = msg->returns < U32_MAX ? msg->returns + 1 : U32_MAX;
	kchan_unlock(ch, &wake);

	ret = kchan_hold_copy_out(uarg, &arg, msg, id, deliveries);

	kchan_lock(ch, &wake);
	ch->holding--;
	if (ret) {
		kchan_unlock(ch, &wake);
		kchan_unreceive(ch, msg);	/* nothing held, as read() */
		return ret;
	}
	ch->copying--;
	if (ch->dead) {
		kchan_unlock(ch, &wake);
		kvfree(msg);
		return -ENODEV;
	}
	msg->hold.file = file;
	msg->hold.id = id;
	list_add_tail(&msg->link, &ch->held_msgs);
	ch->held++;
	ret = msg->len;
unlock:
	kchan_unlock(ch, &wake);
	return ret;
}

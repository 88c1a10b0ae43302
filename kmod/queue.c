// SPDX-License-Identifier: GPL-2.0
/*
 * The matching core: a send meets a waiting reader or a free slot, a
 * receive meets a queued message or a waiting writer.  Plain read/write
 * (data.c) and select (select.c) both go through here.
 *
 * Invariants, all under ch->lock:
 *  - recvq holds live readers only while queue and sendq hold nothing a
 *    reader could take: a reader waits only when there is nothing, and a
 *    writer hands its message to the first waiting reader before it looks
 *    at the queue.  (Stale select waiters may linger; whoever meets one
 *    unlinks it.)
 *  - sendq holds writers that found neither a waiting reader nor room
 *    (always so on an unbuffered channel), oldest first.
 *  - closed or dead implies no live waiter on sendq, nor on recvq unless
 *    held messages (hold.c) may still come back.
 *  - a writer finds room only while length + held < capacity.
 *  - queue is in seq order: the order the channel accepted its messages.
 * Each message wakes at most one reader or writer, the one it concerns.
 *
 * A waiter of a select is matched only if its select is still open: the
 * matcher claims the select with a cmpxchg on sel->winner, so exactly one
 * case of a select completes, whichever channel gets there first.  A
 * select registers its waiters holding all its channels' locks (select.c),
 * so nobody can match a select before it has looked at every case.
 */
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "kchan.h"

static bool kchan_waiter_stale(const struct kchan_waiter *w)
{
	return w->sel && atomic_read(&w->sel->winner) != KCHAN_SEL_OPEN;
}

/* The first waiter on @q that may still be matched; stale ones are unlinked. */
static struct kchan_waiter *kchan_first_waiter(struct list_head *q)
{
	struct kchan_waiter *w, *next;

	list_for_each_entry_safe(w, next, q, link) {
		if (kchan_waiter_stale(w)) {
			list_del_init(&w->link);
			continue;
		}
		return w;
	}
	return NULL;
}

/* Unlink @w and claim it: false if its select completed elsewhere. */
static bool kchan_claim(struct kchan_waiter *w)
{
	list_del_init(&w->link);
	return !w->sel ||
	       atomic_cmpxchg(&w->sel->winner, KCHAN_SEL_OPEN, w->index) ==
	       KCHAN_SEL_OPEN;
}

/*
 * Give @w its @result and wake it after ch->lock is released.  The task
 * reference, taken under the lock, keeps the task alive even if it has
 * already returned (ipc/mqueue.c learnt this the hard way, CVE-2021-47069).
 */
static void kchan_complete(struct kchan_waiter *w, int result,
			   struct kchan_wake *wake)
{
	w->result = result;
	wake->task = get_task_struct(w->task);
}

/*
 * Fail @w with @result now, waking it under ch->lock: it cannot see its
 * result before it retakes the lock.  For the rare paths (close, destroy,
 * a reader's buffer too small) that may wake several.
 */
static void kchan_fail(struct kchan_waiter *w, int result)
{
	if (kchan_claim(w)) {
		w->result = result;
		wake_up_process(w->task);
	}
}

void kchan_fail_waiters(struct list_head *q, int result)
{
	struct kchan_waiter *w, *next;

	list_for_each_entry_safe(w, next, q, link)
		kchan_fail(w, result);
}

/*
 * Give @msg to the first waiting reader whose buffer holds it.  A reader
 * whose buffer is too small fails with EMSGSIZE, as its read would have
 * on a queued message.  Returns false if no reader took it.
 */
bool kchan_hand_off(struct kchan *ch, struct kchan_msg *msg,
		    struct kchan_wake *wake)
{
	struct kchan_waiter *w;

	while ((w = kchan_first_waiter(&ch->recvq))) {
		if (msg->len > w->room) {
			kchan_fail(w, -EMSGSIZE);
			continue;
		}
		if (kchan_claim(w)) {
			w->msg = msg;
			ch->received++;
			kchan_complete(w, 0, wake);
			return true;
		}
	}
	return false;
}

/*
 * Send @msg without blocking: 0 if a reader or the buffer took it (it is
 * no longer the caller's), -EAGAIN if the caller would have to wait.
 */
int kchan_try_send_locked(struct kchan *ch, struct kchan_msg *msg,
			  struct kchan_wake *wake)
{
	lockdep_assert_held(&ch->lock);
	if (ch->dead)
		return -ENODEV;
	if (ch->closed)
		return -EPIPE;
	if (kchan_stream_dup_locked(ch, msg))
		return KCHAN_DUPLICATE;
	if (!kchan_hand_off(ch, msg, wake)) {
		if (!kchan_has_room(ch))
			return -EAGAIN;
		list_add_tail(&msg->link, &ch->queue);
		ch->length++;
		wake->poll |= EPOLLIN | EPOLLRDNORM;
	}
	kchan_accept_locked(ch, msg);
	return 0;
}

/* A claimed writer's SEND_ONCE was a duplicate: it returns, sending nothing. */
static void kchan_complete_dup(struct kchan_waiter *w)
{
	w->result = KCHAN_DUPLICATE;
	wake_up_process(w->task);	/* it reads the result under ch->lock */
}

/*
 * A slot came free: the oldest waiting writer's message takes it.
 * Returns that writer, or NULL if none was waiting.
 */
struct kchan_waiter *kchan_admit_writer(struct kchan *ch,
					struct kchan_wake *wake)
{
	struct kchan_waiter *w;

	lockdep_assert_held(&ch->lock);
	while ((w = kchan_first_waiter(&ch->sendq))) {
		if (!kchan_claim(w))
			continue;
		if (kchan_stream_dup_locked(ch, w->msg)) {
			kchan_complete_dup(w);
			continue;
		}
		list_add_tail(&w->msg->link, &ch->queue);
		ch->length++;
		kchan_accept_locked(ch, w->msg);
		kchan_complete(w, 0, wake);
		return w;
	}
	return NULL;
}

/*
 * Receive without blocking into a buffer of @room bytes: 0 with *msgp set
 * (now the caller's, until copied out or handed back with
 * kchan_unreceive()), 0 with *msgp NULL at end of file, or -errno;
 * -EAGAIN if the caller would have to wait.
 */
int kchan_try_recv_locked(struct kchan *ch, size_t room,
			  struct kchan_msg **msgp, struct kchan_wake *wake)
{
	struct kchan_msg *msg;
	struct kchan_waiter *w;

	lockdep_assert_held(&ch->lock);
	*msgp = NULL;
	if (ch->dead)
		return -ENODEV;

	msg = list_first_entry_or_null(&ch->queue, struct kchan_msg, link);
	if (msg) {
		if (msg->len > room)
			return -EMSGSIZE;
		list_del(&msg->link);
		ch->length--;
		/* The freed slot goes to the oldest waiting writer. */
		if (kchan_has_room(ch) && !kchan_admit_writer(ch, wake))
			wake->poll |= EPOLLOUT | EPOLLWRNORM;
		goto taken;
	}

	/* Nothing buffered: take the message straight from a writer. */
	while ((w = kchan_first_waiter(&ch->sendq))) {
		if (w->msg->len > room)
			return -EMSGSIZE;
		if (!kchan_claim(w))
			continue;
		if (kchan_stream_dup_locked(ch, w->msg)) {
			kchan_complete_dup(w);
			continue;
		}
		msg = w->msg;
		kchan_accept_locked(ch, msg);
		kchan_complete(w, 0, wake);
		goto taken;
	}

	if (kchan_at_eof(ch))
		return 0;	/* drained and closed: end of file */
	return -EAGAIN;

taken:
	ch->received++;
	*msgp = msg;
	return 0;
}

/*
 * A new message of @len bytes, charged to the caller's memory cgroup; a
 * small one at the one small size (see kchan_msg_new() for reuse).
 */
struct kchan_msg *kchan_msg_alloc(size_t len)
{
	struct kchan_msg *msg;
	size_t size = struct_size(msg, data, len);

	if (len <= KCHAN_MSG_SMALL)
		size = KCHAN_MSG_SMALL_SIZE;
	msg = kvmalloc(size, GFP_KERNEL_ACCOUNT);
	if (msg)
		kchan_msg_init(msg, len);
	return msg;
}

/*
 * A reader could not copy @msg out: put it back at the head (its seq's
 * place), where the next reader gets it (the channel may hold one above
 * capacity a while).
 */
void kchan_unreceive(struct kchan *ch, struct kchan_msg *msg)
{
	struct kchan_wake wake = {};

	spin_lock(&ch->lock);
	ch->received--;
	if (ch->dead) {
		spin_unlock(&ch->lock);
		kvfree(msg);	/* destroyed: no spares kept */
		return;
	}
	kchan_requeue_locked(ch, msg, &wake);	/* at its seq's place */
	spin_unlock(&ch->lock);
	kchan_wake(ch, &wake);
}

/* What a match owes others, done once ch->lock is released. */
void kchan_wake(struct kchan *ch, struct kchan_wake *wake)
{
	if (wake->task) {
		wake_up_process(wake->task);
		put_task_struct(wake->task);
	}
	if (wake->poll && wq_has_sleeper(&ch->poll_wq))
		wake_up_poll(&ch->poll_wq, wake->poll);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The matching core: a send meets a waiting reader or a free slot, a
 * receive meets a queued message or a waiting writer, and every locked
 * section ends by restoring the invariants and waking whoever the change
 * concerns.  Plain read/write (data.c), batches (batch.c), select
 * (select.c), held receive (hold.c) and timers all go through here; the
 * at-most-once streams (streams.c) hook into accepting a message.
 *
 * Invariants, all under ch->lock:
 *  - recvq holds live readers only while queue and sendq hold nothing a
 *    reader could take.  (Stale select waiters may linger; whoever meets
 *    one unlinks it.)
 *  - sendq holds live writers only while there is no free slot (always so
 *    on an unbuffered channel), oldest first.
 *  - at end of file (kchan_at_eof()) no live reader waits; closed or dead
 *    implies no live writer waits.
 *  - a slot is taken by each message queued, held or being copied out.
 *  - queue is in seq order: the order the channel accepted its messages.
 * A section may break the first three for a moment; kchan_settle_locked()
 * restores them before the lock is released, so no path that frees a slot
 * or reaches end of file can forget a waiter.
 *
 * Wake-ups: kchan_lock() notes what poll would report (kchan_ready()),
 * the queue's length and the slots taken; kchan_unlock() compares, and
 * wakes pollers for every event that became true, and for every new
 * message and freed slot even when the channel was ready already, since
 * each of those is an edge for edge-triggered epoll.  Matched waiters are
 * collected with a task reference and woken after the unlock.
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

/* ----- waking ----------------------------------------------------------- */

void kchan_wake_begin(struct kchan *ch, struct kchan_wake *wake)
{
	lockdep_assert_held(&ch->lock);
	wake->before = kchan_ready(ch);
	wake->length = ch->length;
	wake->taken = kchan_slots_taken(ch);
	wake->poll = 0;
	wake->ntasks = 0;
}

/*
 * Wake @task once ch->lock is released.  Past KCHAN_WAKE_TASKS (a close
 * with many readers) wake it now: a waiter reads its result only under
 * ch->lock, so it cannot have returned yet, and a wake-up under a
 * spinlock is allowed, only slower for the woken.
 */
static void kchan_wake_task(struct kchan_wake *wake, struct task_struct *task)
{
	if (wake->ntasks < KCHAN_WAKE_TASKS)
		wake->tasks[wake->ntasks++] = get_task_struct(task);
	else
		wake_up_process(task);
}

void kchan_wake_flush(struct kchan *ch, struct kchan_wake *wake)
{
	unsigned int i;

	/*
	 * A task reference keeps each alive even if it already returned
	 * (ipc/mqueue.c learnt this the hard way, CVE-2021-47069).
	 */
	for (i = 0; i < wake->ntasks; i++) {
		wake_up_process(wake->tasks[i]);
		put_task_struct(wake->tasks[i]);
	}
	wake->ntasks = 0;
	if (wake->poll && wq_has_sleeper(&ch->poll_wq))
		wake_up_poll(&ch->poll_wq, wake->poll);
	wake->poll = 0;
}

/* Whether kchan_wake_flush() would wake anybody. */
static bool kchan_wake_pending(struct kchan *ch, struct kchan_wake *wake)
{
	return wake->ntasks || (wake->poll && wq_has_sleeper(&ch->poll_wq));
}

void kchan_lock(struct kchan *ch, struct kchan_wake *wake)
	__acquires(&ch->lock)
{
	spin_lock(&ch->lock);
	kchan_wake_begin(ch, wake);
}

void kchan_unlock(struct kchan *ch, struct kchan_wake *wake)
	__releases(&ch->lock)
{
	kchan_settle_locked(ch, wake);
	spin_unlock(&ch->lock);
	kchan_wake_flush(ch, wake);
}

/* ----- waiters ---------------------------------------------------------- */

static bool kchan_waiter_stale(const struct kchan_waiter *w)
{
	return w->sel && atomic_read(&w->sel->winner) != KCHAN_SEL_OPEN;
}

/* Whether @q holds a waiter that may still be matched. */
bool kchan_has_waiter(const struct list_head *q)
{
	const struct kchan_waiter *w;

	list_for_each_entry(w, q, link)
		if (!kchan_waiter_stale(w))
			return true;
	return false;
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

/* Give a claimed @w its @result; it wakes once ch->lock is released. */
static void kchan_complete(struct kchan_waiter *w, int result,
			   struct kchan_wake *wake)
{
	w->result = result;
	kchan_wake_task(wake, w->task);
}

/* Fail every waiter of @q with @result (close, destroy, end of file). */
void kchan_fail_waiters(struct list_head *q, int result,
			struct kchan_wake *wake)
{
	struct kchan_waiter *w, *next;

	list_for_each_entry_safe(w, next, q, link)
		if (kchan_claim(w))
			kchan_complete(w, result, wake);
}

/*
 * Sleep on @q until a counterpart sets our result, or a signal comes.
 * Called and returns with ch->lock held, inside a kchan_lock() section
 * (@wake).  What we owe others, our waiting included (a waiting reader
 * makes the channel writable), is delivered before we sleep.
 *
 * No wake-up is lost: the result is set and read under ch->lock, and we
 * are TASK_INTERRUPTIBLE before the lock is dropped.  No signal is lost:
 * schedule() does not sleep in that state with a signal pending.
 */
int kchan_wait(struct kchan *ch, struct kchan_waiter *w, struct list_head *q,
	       struct kchan_wake *wake)
	__must_hold(&ch->lock)
{
	w->task = current;
	w->sel = NULL;
	w->result = KCHAN_WAITING;
	list_add_tail(&w->link, q);
	kchan_settle_locked(ch, wake);
	if (kchan_wake_pending(ch, wake)) {
		spin_unlock(&ch->lock);
		kchan_wake_flush(ch, wake);
		kchan_lock(ch, wake);
	}
	while (w->result == KCHAN_WAITING) {
		if (signal_pending(current)) {
			list_del(&w->link);
			return -ERESTARTSYS;
		}
		set_current_state(TASK_INTERRUPTIBLE);
		spin_unlock(&ch->lock);
		schedule();
		kchan_lock(ch, wake);
	}
	return w->result;
}

/* ----- accepting and handing off ---------------------------------------- */

/*
 * Whether the channel may take @msg now: 0, KCHAN_DUPLICATE or -errno.
 * The hook of at-most-once sends, checked in the same lock hold that
 * accepts the message, also when a reader takes a blocked writer's.
 */
static int kchan_accept_check(struct kchan *ch, const struct kchan_msg *msg)
{
	return msg->once.stream ? kchan_stream_check_locked(ch, msg) : 0;
}

/* The channel takes @msg: it gets its place in the channel's history. */
static void kchan_accept(struct kchan *ch, struct kchan_msg *msg)
{
	msg->seq = ++ch->sent;
	if (msg->once.stream)
		kchan_stream_record_locked(ch, msg);
}

/*
 * Give @msg to the first waiting reader whose buffer holds it; it is then
 * being copied out.  A reader whose buffer is too small fails with
 * EMSGSIZE, as its read would have on a queued message.  Returns false
 * if no reader took it.
 */
static bool kchan_hand_off(struct kchan *ch, struct kchan_msg *msg,
			   struct kchan_wake *wake)
{
	struct kchan_waiter *w;

	while ((w = kchan_first_waiter(&ch->recvq))) {
		if (msg->len > w->room) {
			if (kchan_claim(w))
				kchan_complete(w, -EMSGSIZE, wake);
			continue;
		}
		if (kchan_claim(w)) {
			w->msg = msg;
			ch->received++;
			ch->copying++;
			kchan_complete(w, 0, wake);
			return true;
		}
	}
	return false;
}

static void kchan_queue_tail(struct kchan *ch, struct kchan_msg *msg)
{
	list_add_tail(&msg->link, &ch->queue);
	ch->length++;
}

/*
 * Send @msg without blocking: 0 if a reader or the buffer took it (it is
 * no longer the caller's), KCHAN_DUPLICATE or -errno if refused, -EAGAIN
 * if the caller would have to wait.
 */
int kchan_try_send_locked(struct kchan *ch, struct kchan_msg *msg,
			  struct kchan_wake *wake)
{
	int ret;

	lockdep_assert_held(&ch->lock);
	if (ch->dead)
		return -ENODEV;
	if (ch->closed)
		return -EPIPE;
	ret = kchan_accept_check(ch, msg);
	if (ret)
		return ret;
	if (!kchan_hand_off(ch, msg, wake)) {
		if (!kchan_has_room(ch))
			return -EAGAIN;
		kchan_queue_tail(ch, msg);
	}
	kchan_accept(ch, msg);
	return 0;
}

/*
 * A slot is free: the oldest waiting writer's message takes it (or a
 * refusal, if its stream says so).  False if no writer was waiting.
 */
static bool kchan_admit_writer(struct kchan *ch, struct kchan_wake *wake)
{
	struct kchan_waiter *w;
	int ret;

	while ((w = kchan_first_waiter(&ch->sendq))) {
		if (!kchan_claim(w))
			continue;
		ret = kchan_accept_check(ch, w->msg);
		if (!ret) {
			kchan_accept(ch, w->msg);
			if (!kchan_hand_off(ch, w->msg, wake))
				kchan_queue_tail(ch, w->msg);
		}
		kchan_complete(w, ret, wake);
		if (!ret)
			return true;
	}
	return false;
}

/*
 * End of a locked section: restore the invariants a section may have
 * broken, then note the readiness it changed.  Freed slots go to waiting
 * writers; at end of file every waiting reader gets it.
 */
void kchan_settle_locked(struct kchan *ch, struct kchan_wake *wake)
{
	__poll_t now;

	lockdep_assert_held(&ch->lock);
	while (kchan_has_room(ch) && kchan_admit_writer(ch, wake))
		;
	if (kchan_at_eof(ch))
		kchan_fail_waiters(&ch->recvq, 0, wake);
	/* Pollers wait for events to become true; none waits for one to end. */
	now = kchan_ready(ch);
	wake->poll |= now & ~wake->before;
	if (ch->length > wake->length)
		wake->poll |= now & (EPOLLIN | EPOLLRDNORM);
	if (kchan_slots_taken(ch) < wake->taken)
		wake->poll |= now & (EPOLLOUT | EPOLLWRNORM);
	wake->before = now;
	wake->length = ch->length;
	wake->taken = kchan_slots_taken(ch);
}

/*
 * Receive without blocking into a buffer of @room bytes: 0 with *msgp set
 * (now the caller's to copy out, then kchan_recv_done(), or to hand back
 * with kchan_unreceive()), 0 with *msgp NULL at end of file, or -errno;
 * -EAGAIN if the caller would have to wait.
 */
int kchan_try_recv_locked(struct kchan *ch, size_t room,
			  struct kchan_msg **msgp, struct kchan_wake *wake)
{
	struct kchan_msg *msg;
	struct kchan_waiter *w;
	int ret;

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
		goto taken;	/* its slot is free once it is copied out */
	}

	/* Nothing buffered: take the message straight from a writer. */
	while ((w = kchan_first_waiter(&ch->sendq))) {
		if (w->msg->len > room)
			return -EMSGSIZE;
		if (!kchan_claim(w))
			continue;
		ret = kchan_accept_check(ch, w->msg);
		kchan_complete(w, ret, wake);
		if (ret)
			continue;
		msg = w->msg;
		kchan_accept(ch, msg);
		goto taken;
	}

	if (kchan_at_eof(ch))
		return 0;	/* drained and closed: end of file */
	return -EAGAIN;

taken:
	ch->received++;
	ch->copying++;
	*msgp = msg;
	return 0;
}

/*
 * Put @msg, already accepted, back where its seq belongs: to the first
 * waiting reader, else into the queue at its seq's place, searching from
 * @from (the queue's head, or where the previous, older one went).
 * Returns where it went.  The queue may hold one above capacity a while.
 */
struct list_head *kchan_requeue_from(struct kchan *ch, struct kchan_msg *msg,
				     struct list_head *from,
				     struct kchan_wake *wake)
{
	struct list_head *pos;

	lockdep_assert_held(&ch->lock);
	if (kchan_hand_off(ch, msg, wake))
		return from;
	for (pos = from->next; pos != &ch->queue; pos = pos->next)
		if (list_entry(pos, struct kchan_msg, link)->seq > msg->seq)
			break;
	list_add_tail(&msg->link, pos);
	ch->length++;
	return &msg->link;
}

void kchan_requeue_locked(struct kchan *ch, struct kchan_msg *msg,
			  struct kchan_wake *wake)
{
	kchan_requeue_from(ch, msg, &ch->queue, wake);
}

/*
 * Readers copied @msgs[0..n) out: their slots are free, and the buffers
 * become spares (msg.c), in one lock hold.
 */
void kchan_recv_done(struct kchan *ch, struct kchan_msg **msgs, int n)
{
	struct kchan_wake wake;
	int kept, i;

	if (!n)
		return;
	kchan_lock(ch, &wake);
	ch->copying -= n;
	kept = kchan_msg_keep_many_locked(ch, msgs, n);
	kchan_unlock(ch, &wake);
	for (i = kept; i < n; i++)
		kvfree(msgs[i]);
}

/*
 * A reader could not copy @msg out: it goes back at its seq's place, the
 * head, where the next reader gets it.
 */
void kchan_unreceive(struct kchan *ch, struct kchan_msg *msg)
{
	struct kchan_wake wake;

	kchan_lock(ch, &wake);
	ch->copying--;
	ch->received--;
	if (ch->dead) {
		kchan_unlock(ch, &wake);
		kvfree(msg);	/* destroyed: no spares kept */
		return;
	}
	kchan_msg_returned(msg);	/* what was copied may have been seen */
	kchan_requeue_locked(ch, msg, &wake);
	kchan_unlock(ch, &wake);
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

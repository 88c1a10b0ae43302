// SPDX-License-Identifier: GPL-2.0
/*
 * Go's select, KCHAN_IOC_SELECT, after selectgo in Go's runtime/select.go:
 *
 *  1. Lock every channel of the select (kchan_lock_all()).
 *  2. Look at the cases in a random order; the first that can complete at
 *     once does, so each ready case is equally likely to be chosen.
 *  3. Otherwise queue one waiter per case, all sharing one selector, and
 *     unlock: from now on any counterpart may match any of them, and the
 *     first to claim selector.winner completes its case (queue.c).
 *  4. Sleep until a case has won, the timeout has passed or a signal has
 *     come (then we claim the selector ourselves, to give up); take every
 *     waiter off its queue, one channel at a time.
 * Because the look and the queueing happen under all the locks, nothing
 * can match this select before it has looked at every case, and no
 * counterpart can slip between two of its cases unseen.
 */
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "kchan.h"

struct kchan_case {
	struct file *file;
	struct kchan *ch;
	u32 op;				/* KCHAN_SELECT_RECV or _SEND */
	void __user *buf;
	size_t len;
	struct kchan_msg *msg;		/* SEND: ours until a receiver takes it */
	unsigned int chan;		/* its channel's index in chans[] */
	struct kchan_waiter w;		/* linked while queued */
};

/* Only the first ncases (nchans) entries of each array are set and used. */
struct kchan_selection {
	struct kchan_selector sel;
	unsigned int ncases;
	unsigned int nchans;
	/*
	 * Only for lockdep, which wants one lock held across the nested
	 * acquisition of many locks of one class.  Nobody else takes it:
	 * what keeps two selects from deadlocking is that both take the
	 * channel locks they share in the same order, ascending address.
	 */
	struct mutex nest;
	struct kchan_case cases[KCHAN_SELECT_MAX];
	struct kchan *chans[KCHAN_SELECT_MAX];	/* distinct, ascending */
	struct kchan_wake wakes[KCHAN_SELECT_MAX];	/* one per chans[] */
	u8 order[KCHAN_SELECT_MAX];		/* the cases, shuffled */
};

static int kchan_cmp_ptr(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* Step 1: every channel's lock, in ascending address order; wakes begin. */
static void kchan_lock_all(struct kchan_selection *s)
{
	unsigned int i;

	mutex_lock(&s->nest);
	for (i = 0; i < s->nchans; i++) {
		spin_lock_nest_lock(&s->chans[i]->lock, &s->nest);
		__release(&s->chans[i]->lock);	/* for sparse: held until unlock_all */
		kchan_wake_begin(s->chans[i], &s->wakes[i]);
	}
}

/* Settle and unlock every channel, then wake whom they owe, as kchan_unlock(). */
static void kchan_unlock_all(struct kchan_selection *s)
{
	unsigned int i = s->nchans;

	while (i--) {
		__acquire(&s->chans[i]->lock);	/* for sparse: see lock_all */
		kchan_settle_locked(s->chans[i], &s->wakes[i]);
		spin_unlock(&s->chans[i]->lock);
	}
	mutex_unlock(&s->nest);
	for (i = 0; i < s->nchans; i++)
		kchan_wake_flush(s->chans[i], &s->wakes[i]);
}

/* Read one case from user space and take a reference to its channel file. */
static int kchan_case_prepare(struct kchan_case *c, const void __user *ucase,
			      u32 case_size)
{
	struct kchan_select_case uc;
	int ret;

	ret = copy_struct_from_user(&uc, sizeof(uc), ucase, case_size);
	if (ret)
		return ret;
	if (uc.reserved ||
	    (uc.op != KCHAN_SELECT_RECV && uc.op != KCHAN_SELECT_SEND))
		return -EINVAL;

	c->file = fget(uc.fd);
	if (!c->file)
		return -EBADF;
	if (c->file->f_op != &kchan_fops)
		return -EINVAL;
	c->ch = c->file->private_data;
	c->op = uc.op;
	c->buf = u64_to_user_ptr(uc.buf);
	c->len = uc.len;
	if (c->op == KCHAN_SELECT_RECV)
		return c->file->f_mode & FMODE_READ ? 0 : -EBADF;

	if (!(c->file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (kchan_is_timer(c->ch))
		return -EPERM;	/* only its timer sends */
	if (!c->len)
		return -EINVAL;
	if (c->len > c->ch->msg_max)
		return -EMSGSIZE;
	c->msg = kchan_msg_new(c->ch, c->len);
	if (!c->msg)
		return -ENOMEM;
	if (copy_from_user(c->msg->data, c->buf, c->len))
		return -EFAULT;
	return 0;
}

static void kchan_case_release(struct kchan_case *c)
{
	if (c->msg)
		kchan_msg_free(c->ch, c->msg);	/* a send that did not happen */
	if (c->file)
		fput(c->file);
}

/* Try case @i without waiting, under all the locks: -EAGAIN if not ready. */
static int kchan_case_try(struct kchan_selection *s, unsigned int i,
			  struct kchan_msg **msgp)
{
	struct kchan_case *c = &s->cases[i];
	struct kchan_wake *wake = &s->wakes[c->chan];
	int ret;

	if (c->op == KCHAN_SELECT_RECV)
		return kchan_try_recv_locked(c->ch, c->len, msgp, wake);
	ret = kchan_try_send_locked(c->ch, c->msg, wake);
	if (!ret)
		c->msg = NULL;	/* the channel's now */
	return ret;
}

static void kchan_case_queue(struct kchan_selection *s, unsigned int i)
{
	struct kchan_case *c = &s->cases[i];
	struct kchan_waiter *w = &c->w;

	w->task = current;
	w->sel = &s->sel;
	w->index = i;
	w->result = KCHAN_WAITING;
	if (c->op == KCHAN_SELECT_RECV) {
		w->room = c->len;
		w->msg = NULL;
		list_add_tail(&w->link, &c->ch->recvq);
	} else {
		w->msg = c->msg;
		list_add_tail(&w->link, &c->ch->sendq);
	}
}

/*
 * Sleep until a case wins; 0, or -errno once we gave up (the selector is
 * then ours and no case can win any more).
 *
 * sel.winner is read without a channel lock.  A matcher claims it with a
 * cmpxchg (a full barrier), and only then queues our wake-up, which it
 * issues after its ch->lock is released (queue.c).  Two timelines:
 *   matcher:  cmpxchg(winner)         ...  wake_up_process(us)
 *   we:       set_current_state()  ;  read winner  ;  schedule()
 * set_current_state() is a full barrier too: either our read sees the
 * claim and we do not sleep, or the claim comes after it, so the wake-up
 * that follows the claim finds us no longer running and wakes us.  The
 * result that goes with the claim is read later under the winner's
 * ch->lock (kchan_select_dequeue()), where the matcher wrote it.
 */
static int kchan_select_sleep(struct kchan_selection *s, s64 timeout_ns)
{
	ktime_t expires = 0;
	int ret = 0;

	if (timeout_ns > 0)
		expires = ktime_add_safe(ktime_get(), ns_to_ktime(timeout_ns));
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (atomic_read(&s->sel.winner) != KCHAN_SEL_OPEN)
			break;
		if (signal_pending(current))
			ret = timeout_ns < 0 ? -ERESTARTSYS : -EINTR;
		else if (timeout_ns > 0 && ktime_after(ktime_get(), expires))
			ret = -ETIMEDOUT;
		if (ret) {
			if (atomic_cmpxchg(&s->sel.winner, KCHAN_SEL_OPEN,
					   KCHAN_SEL_GAVE_UP) == KCHAN_SEL_OPEN)
				break;
			ret = 0;	/* a case won meanwhile: take it */
			break;
		}
		if (timeout_ns > 0)
			schedule_hrtimeout_range(&expires, current->timer_slack_ns,
						 HRTIMER_MODE_ABS);
		else
			schedule();
	}
	__set_current_state(TASK_RUNNING);
	return ret;
}

/*
 * Take our waiters off their queues and return the winner's result;
 * *msgp gets a received message (NULL at end of file).
 */
static int kchan_select_dequeue(struct kchan_selection *s, int winner,
				struct kchan_msg **msgp)
{
	int ret = 0;
	unsigned int i;

	for (i = 0; i < s->ncases; i++) {
		struct kchan_case *c = &s->cases[i];
		struct kchan_wake wake;

		kchan_lock(c->ch, &wake);
		if (!list_empty(&c->w.link))
			list_del_init(&c->w.link);
		if (i == winner) {
			/* The winner's matcher set its result under this lock. */
			ret = c->w.result;
			if (c->op == KCHAN_SELECT_RECV)
				*msgp = ret ? NULL : c->w.msg;
			else if (!ret)
				c->msg = NULL;	/* a reader has it */
		}
		kchan_unlock(c->ch, &wake);
	}
	return ret;
}

/* Steps 1 to 4 above; returns the index of the case done, or -errno. */
static int kchan_select_run(struct kchan_selection *s, s64 timeout_ns,
			    int *index, struct kchan_msg **msgp)
{
	unsigned int i, k;
	int ret = -EAGAIN;

	kchan_lock_all(s);
	for (k = 0; k < s->ncases && ret == -EAGAIN; k++) {
		i = s->order[k];
		ret = kchan_case_try(s, i, msgp);
		*index = i;
	}
	if (ret != -EAGAIN || !timeout_ns) {
		kchan_unlock_all(s);
		if (ret == -EAGAIN)
			*index = -1;	/* Go's default case */
		return ret;
	}
	for (i = 0; i < s->ncases; i++)
		kchan_case_queue(s, i);
	kchan_unlock_all(s);	/* tells pollers what our waiting made ready */

	ret = kchan_select_sleep(s, timeout_ns);
	if (ret) {
		kchan_select_dequeue(s, -1, msgp);
		*index = -1;
		return ret;
	}
	*index = atomic_read(&s->sel.winner);
	return kchan_select_dequeue(s, *index, msgp);
}

static void kchan_shuffle(u8 *order, unsigned int n)
{
	unsigned int i, j;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = get_random_u32_below(i + 1);
		swap(order[i], order[j]);
	}
}

long kchan_ioctl_select(struct kchan_select __user *uargs)
{
	struct kchan_selection *s;
	struct kchan_select args;
	struct kchan_msg *msg = NULL;
	int index = -1;
	u32 flags = 0;
	u64 len = 0;
	unsigned int i;
	long ret;

	ret = kchan_copy_arg(&args, sizeof(args), KCHAN_SELECT_SIZE_VER0, uargs);
	if (ret)
		return ret;
	if (args.flags || args.reserved[0] || args.reserved[1] ||
	    !args.ncases || args.ncases > KCHAN_SELECT_MAX ||
	    args.case_size < KCHAN_SELECT_CASE_SIZE_VER0 ||
	    args.case_size > PAGE_SIZE)
		return -EINVAL;

	/* The answer must be writable before anything is committed. */
	if (put_user(index, &uargs->index) ||
	    put_user(flags, &uargs->result_flags) ||
	    put_user(len, &uargs->result_len))
		return -EFAULT;

	/* Past the largest kmalloc cache, every select would cost a page allocation. */
	BUILD_BUG_ON(!IS_ENABLED(CONFIG_DEBUG_MUTEXES) &&
		     sizeof(*s) > KMALLOC_MAX_CACHE_SIZE);
	s = kmalloc(sizeof(*s), GFP_KERNEL);	/* zeroed as far as it is used */
	if (!s)
		return -ENOMEM;
	mutex_init(&s->nest);
	atomic_set(&s->sel.winner, KCHAN_SEL_OPEN);
	s->ncases = args.ncases;
	s->nchans = 0;
	for (i = 0; i < s->ncases; i++) {
		const void __user *ucase = u64_to_user_ptr(args.cases) +
					   (size_t)i * args.case_size;

		memset(&s->cases[i], 0, sizeof(s->cases[i]));
		INIT_LIST_HEAD(&s->cases[i].w.link);
		ret = kchan_case_prepare(&s->cases[i], ucase, args.case_size);
		if (ret) {
			index = i;
			s->ncases = i + 1;	/* release what we took */
			goto out;
		}
		s->chans[i] = s->cases[i].ch;
	}

	/* The distinct channels, in the lock order: ascending addresses. */
	sort(s->chans, s->ncases, sizeof(s->chans[0]), kchan_cmp_ptr, NULL);
	for (i = 0; i < s->ncases; i++)
		if (!s->nchans || s->chans[s->nchans - 1] != s->chans[i])
			s->chans[s->nchans++] = s->chans[i];
	for (i = 0; i < s->ncases; i++)
		while (s->chans[s->cases[i].chan] != s->cases[i].ch)
			s->cases[i].chan++;
	kchan_shuffle(s->order, s->ncases);

	ret = kchan_select_run(s, args.timeout_ns, &index, &msg);
	if (ret || index < 0)
		goto out;
	if (s->cases[index].op == KCHAN_SELECT_RECV) {
		if (!msg) {
			flags = KCHAN_SELECT_CLOSED;
		} else if (copy_to_user(s->cases[index].buf, msg->data, msg->len)) {
			kchan_unreceive(s->cases[index].ch, msg);
			msg = NULL;
			ret = -EFAULT;
		} else {
			len = msg->len;
		}
	}
out:
	if (put_user(index, &uargs->index) ||
	    put_user(flags, &uargs->result_flags) ||
	    put_user(len, &uargs->result_len)) {
		/* Unwritable since we checked: a receive can still be undone. */
		if (msg)
			kchan_unreceive(s->cases[index].ch, msg);
		msg = NULL;
		ret = ret ?: -EFAULT;
	}
	if (msg)
		kchan_recv_done(s->cases[index].ch, &msg, 1);
	for (i = 0; i < s->ncases; i++)
		kchan_case_release(&s->cases[i]);
	mutex_destroy(&s->nest);
	kfree(s);
	return ret;
}

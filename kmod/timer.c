// SPDX-License-Identifier: GPL-2.0
/*
 * Timer channels, Go's time.After and time.Ticker: an hrtimer fires, and a
 * work item sends the expiry time into the channel (capacity 1).  The send
 * happens in process context, so ch->lock never needs to disable
 * interrupts.  A tick that finds the last one unread is dropped and
 * counted, as Go's Ticker drops ticks for slow receivers.
 */
#include <linux/hrtimer.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "kchan.h"

static void kchan_timer_deliver(struct work_struct *work)
{
	struct kchan *ch = container_of(work, struct kchan, timer_work);
	char text[KCHAN_TIMER_MSG_MAX];
	struct kchan_wake wake;
	struct kchan_msg *msg;
	int len, ret = -ENOMEM;
	u64 fired;

	len = scnprintf(text, sizeof(text), "%lld\n",
			atomic64_read(&ch->timer_expiry));
	msg = kchan_msg_alloc(len);
	if (msg)
		memcpy(msg->data, text, len);

	kchan_lock(ch, &wake);
	fired = atomic64_read(&ch->timer_fired);
	if (msg)
		ret = kchan_try_send_locked(ch, msg, &wake);
	/* Every firing since the last delivery but the one sent now is lost. */
	ch->dropped += fired - ch->timer_seen - (ret ? 0 : 1);
	ch->timer_seen = fired;
	kchan_unlock(ch, &wake);

	if (ret)
		kvfree(msg);
}

static enum hrtimer_restart kchan_timer_fire(struct hrtimer *timer)
{
	struct kchan *ch = container_of(timer, struct kchan, timer);

	atomic64_set(&ch->timer_expiry, ktime_to_ns(hrtimer_get_expires(timer)));
	atomic64_inc(&ch->timer_fired);
	queue_work(system_wq, &ch->timer_work);	/* pending already: coalesced */
	if (!(ch->flags & KCHAN_CREATE_TICK))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(timer, ns_to_ktime(ch->period_ns));
	return HRTIMER_RESTART;
}

void kchan_timer_init(struct kchan *ch)
{
	hrtimer_init(&ch->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	ch->timer.function = kchan_timer_fire;
	INIT_WORK(&ch->timer_work, kchan_timer_deliver);
}

void kchan_timer_start(struct kchan *ch)
{
	if (kchan_is_timer(ch))
		hrtimer_start(&ch->timer, ns_to_ktime(ch->period_ns),
			      HRTIMER_MODE_REL);
}

/*
 * No firing and no delivery after this, so a closed timer channel's
 * counters are final once close returns.  A firing not yet delivered is
 * delivered first (close: it happened before the close) or dropped with
 * the channel (@destroy: it may be freed next).  Sleeps; not under
 * ch->lock, which the work item takes.
 */
void kchan_timer_stop(struct kchan *ch, bool destroy)
{
	if (!kchan_is_timer(ch))
		return;
	hrtimer_cancel(&ch->timer);
	if (destroy)
		cancel_work_sync(&ch->timer_work);
	else
		flush_work(&ch->timer_work);
}

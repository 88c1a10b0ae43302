// SPDX-License-Identifier: GPL-2.0
/*
 * The channel object: allocation, close and destroy, and the end of its
 * life.
 */
#include <linux/cred.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "kchan.h"

/*
 * Go's close(), in a kchan_lock() section: blocked writers deliver
 * nothing; blocked readers see end of file once nothing queued, held or
 * being copied out is left (the settling of kchan_unlock() tells them).
 */
int kchan_close_locked(struct kchan *ch, struct kchan_wake *wake)
{
	lockdep_assert_held(&ch->lock);
	if (ch->dead)
		return -ENODEV;
	if (ch->closed)
		return -EPIPE;
	ch->closed = true;
	kchan_fail_waiters(&ch->sendq, -EPIPE, wake);
	return 0;
}

int kchan_close(struct kchan *ch)
{
	struct kchan_wake wake;
	int ret;

	kchan_timer_stop(ch, false);	/* what fired before the close comes first */
	kchan_lock(ch, &wake);
	ret = kchan_close_locked(ch, &wake);
	kchan_unlock(ch, &wake);
	return ret;
}

/* Destroy: every blocked and later operation fails with ENODEV. */
void kchan_kill(struct kchan *ch)
{
	struct kchan_wake wake;
	LIST_HEAD(dropped);

	kchan_timer_stop(ch, true);
	kchan_lock(ch, &wake);
	ch->dead = true;
	kchan_fail_waiters(&ch->sendq, -ENODEV, &wake);
	kchan_fail_waiters(&ch->recvq, -ENODEV, &wake);
	list_splice_init(&ch->queue, &dropped);
	ch->length = 0;
	kchan_hold_kill_locked(ch, &dropped);
	kchan_spares_drop(ch, &dropped);
	kchan_unlock(ch, &wake);

	kchan_free_msgs(&dropped);
}

void kchan_fill_info(struct kchan *ch, struct kchan_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->capacity = ch->capacity;
	info->msg_max = ch->msg_max;
	if (ch->flags & KCHAN_CREATE_AUTOCLOSE)
		info->state |= KCHAN_STATE_AUTOCLOSE;
	if (kchan_is_timer(ch))
		info->state |= KCHAN_STATE_TIMER;

	spin_lock(&ch->lock);
	if (ch->closed)
		info->state |= KCHAN_STATE_CLOSED;
	if (ch->dead)
		info->state |= KCHAN_STATE_DESTROYED;
	info->length = ch->length;
	info->readers = ch->readers;
	info->writers = ch->writers;
	info->sent = ch->sent;
	info->received = ch->received;
	info->dropped = ch->dropped;
	info->held = ch->held;
	info->id = ch->id;
	spin_unlock(&ch->lock);
}

/*
 * Channels come from their own cache: struct kchan is a little under 1 KiB,
 * and kmalloc would round it up.  SLAB_ACCOUNT: charged to the creator's
 * memory cgroup.
 */
static struct kmem_cache *kchan_cache;

int kchan_cache_init(void)
{
	kchan_cache = KMEM_CACHE(kchan, SLAB_ACCOUNT);
	return kchan_cache ? 0 : -ENOMEM;
}

/* Module exit: every channel is gone, each file and mount held the module. */
void kchan_cache_exit(void)
{
	kmem_cache_destroy(kchan_cache);
}

/*
 * A new user: an open file, under ch->lock.  The opener holds a user
 * already: the node's (through the inode it opens) or, for an anonymous
 * channel, its maker's.
 */
void kchan_get(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	refcount_inc(&ch->users);
}

/* The last user is gone: nothing can reach the channel. */
static void kchan_free(struct kchan *ch)
{
	kchan_timer_stop(ch, true);	/* an anonymous timer was never killed */
	kchan_spares_drop(ch, &ch->queue);
	kchan_free_msgs(&ch->queue);
	kchan_free_msgs(&ch->held_msgs);
	kfree(ch->streams);
	kchan_uncharge(ch);
	kchan_fs_free_minor(ch);
	kmem_cache_free(kchan_cache, ch);
}

/* A user is done; the last one frees the channel. */
void kchan_put(struct kchan *ch)
{
	if (refcount_dec_and_test(&ch->users))
		kchan_free(ch);
}

/*
 * A new channel, not yet visible or charged.  It holds one user
 * reference, which the caller drops with kchan_put() on failure, or hands
 * to the node's inode or to the anonymous channel's file.
 */
struct kchan *kchan_alloc(const struct kchan_create *req)
{
	struct kchan *ch;

	ch = kmem_cache_zalloc(kchan_cache, GFP_KERNEL);
	if (!ch)
		return ERR_PTR(-ENOMEM);
	refcount_set(&ch->users, 1);

	spin_lock_init(&ch->lock);
	INIT_LIST_HEAD(&ch->queue);
	INIT_LIST_HEAD(&ch->held_msgs);
	INIT_LIST_HEAD(&ch->recvq);
	INIT_LIST_HEAD(&ch->sendq);
	INIT_LIST_HEAD(&ch->spare);
	init_waitqueue_head(&ch->poll_wq);
	do {
		ch->id = get_random_u64();
	} while (!ch->id);
	ch->capacity = req->capacity;
	ch->msg_max = req->msg_max ?: KCHAN_MSG_MAX_DEFAULT;
	ch->flags = req->flags;
	ch->nstreams = req->streams ?: KCHAN_STREAMS_DEFAULT;
	ch->period_ns = req->period_ns;
	kchan_timer_init(ch);
	if (kchan_is_timer(ch)) {
		ch->capacity = 1;
		ch->msg_max = KCHAN_TIMER_MSG_MAX;
	}
	ch->mode = req->mode ?: 0600;
	ch->owner = current_fsuid();
	ch->group = current_fsgid();
	strscpy(ch->name, req->name, sizeof(ch->name));

	return ch;
}

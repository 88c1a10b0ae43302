// SPDX-License-Identifier: GPL-2.0
/*
 * Message buffers without an allocation per message.  Every small message
 * (up to KCHAN_MSG_SMALL bytes of data) is allocated at one size, so any
 * freed one fits any other: a channel keeps the buffers its readers are
 * done with on ch->spare, and its writers take them back from there.  A
 * spinlock round trip replaces kmalloc, the memcg charge and kfree.
 *
 * The spares are charged to the memory cgroup of the writer that first
 * allocated them (GFP_KERNEL_ACCOUNT), like the queued messages they were.
 * An idle channel keeps at most 16 KiB of them (kchan_spare_max()), until
 * destroy or its last reference.
 *
 * Larger messages come from kvmalloc, and each is zeroed there first
 * (Debian's kernels run with init_on_alloc=1): for a 64 KiB message an
 * order-5 allocation and 128 KiB of clear_page(), as much work as both
 * copies.  A channel keeps the last large buffer its readers freed, one
 * message's worth at most, as ch->big_spare, and a writer whose message
 * fits takes it.  Its len is the longest message it is known to hold:
 * reused for a shorter one it is known to hold only that one afterwards,
 * which can only make it reused less.  A stream of equal messages, the
 * case that matters, allocates nothing.
 */
#include <linux/slab.h>

#include "kchan.h"

/* Spare buffers a channel keeps at most: 16 KiB. */
#define KCHAN_SPARE_MAX		64U

/*
 * Spares @ch may keep: no more than its full queue holds, and no more
 * bytes than its quota charge, max(capacity, 1) * msg_max (quota.c).
 */
static unsigned int kchan_spare_max(const struct kchan *ch)
{
	u64 fit = (u64)max(ch->capacity, 1U) * ch->msg_max /
		  KCHAN_MSG_SMALL_SIZE;

	return min3((u64)max(ch->capacity, 1U), (u64)KCHAN_SPARE_MAX, fit);
}

/*
 * ch->big_spare if a message of @len bytes fits, or NULL.  The unlocked
 * look is a hint: it only saves the lock round when there is none.
 */
static struct kchan_msg *kchan_big_spare_take(struct kchan *ch, size_t len)
{
	struct kchan_msg *msg = NULL;

	if (!READ_ONCE(ch->big_spare))
		return NULL;
	spin_lock(&ch->lock);
	if (ch->big_spare && ch->big_spare->len >= len) {
		msg = ch->big_spare;
		WRITE_ONCE(ch->big_spare, NULL);
	}
	spin_unlock(&ch->lock);
	return msg;
}

/* A message of @len bytes for @ch, from its spares if one fits. */
struct kchan_msg *kchan_msg_new(struct kchan *ch, size_t len)
{
	struct kchan_msg *msg = NULL;

	if (len > KCHAN_MSG_SMALL) {
		msg = kchan_big_spare_take(ch, len);
	} else if (READ_ONCE(ch->nspare)) {
		spin_lock(&ch->lock);
		msg = list_first_entry_or_null(&ch->spare, struct kchan_msg,
					       link);
		if (msg) {
			list_del(&msg->link);
			WRITE_ONCE(ch->nspare, ch->nspare - 1);
		}
		spin_unlock(&ch->lock);
	}
	if (!msg)
		return kchan_msg_alloc(len);
	kchan_msg_init(msg, len);
	return msg;
}

/* Keep @msg as a spare of @ch, under ch->lock; false if it must be freed. */
static bool kchan_msg_keep_locked(struct kchan *ch, struct kchan_msg *msg)
{
	lockdep_assert_held(&ch->lock);
	if (ch->dead)
		return false;
	if (msg->len > KCHAN_MSG_SMALL) {
		if (ch->big_spare)
			return false;
		WRITE_ONCE(ch->big_spare, msg);
		return true;
	}
	if (ch->nspare >= kchan_spare_max(ch))
		return false;
	list_add(&msg->link, &ch->spare);	/* the warmest is reused first */
	WRITE_ONCE(ch->nspare, ch->nspare + 1);
	return true;
}

/*
 * Keep what @ch may keep of @msgs[0..n), in order, under ch->lock; how
 * many.  The caller frees the rest once the lock is released.
 */
int kchan_msg_keep_many_locked(struct kchan *ch, struct kchan_msg **msgs, int n)
{
	int kept = 0;

	while (kept < n && kchan_msg_keep_locked(ch, msgs[kept]))
		kept++;
	return kept;
}

/* @msgs[0..n) are done with: keep what @ch may keep, free the rest. */
void kchan_msg_free_many(struct kchan *ch, struct kchan_msg **msgs, int n)
{
	int i, kept = 0;

	if (!n)
		return;
	if (msgs[0]->len <= KCHAN_MSG_SMALL || !READ_ONCE(ch->big_spare)) {
		spin_lock(&ch->lock);
		kept = kchan_msg_keep_many_locked(ch, msgs, n);
		spin_unlock(&ch->lock);
	}
	for (i = kept; i < n; i++)
		kvfree(msgs[i]);
}

void kchan_msg_free(struct kchan *ch, struct kchan_msg *msg)
{
	kchan_msg_free_many(ch, &msg, 1);
}

/* Destroy or the end of the channel: the spares go (under ch->lock or alone). */
void kchan_spares_drop(struct kchan *ch, struct list_head *to)
{
	list_splice_init(&ch->spare, to);
	WRITE_ONCE(ch->nspare, 0);
	if (ch->big_spare) {
		list_add_tail(&ch->big_spare->link, to);
		WRITE_ONCE(ch->big_spare, NULL);
	}
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user limits, in the spirit of mqueue's RLIMIT_MSGQUEUE: a user may
 * own at most max_user_channels channels whose buffers could hold at most
 * max_user_bytes bytes in all.  The worst case is charged when a channel
 * is created, so a full channel never fails a send for want of quota.
 * Everything here runs under kchan_registry_lock.
 */
#include <linux/hashtable.h>
#include <linux/slab.h>

#include "kchan.h"

struct kchan_quota {
	struct hlist_node hnode;	/* in kchan_quotas */
	kuid_t uid;
	unsigned int channels;
	u64 bytes;
};

static DEFINE_HASHTABLE(kchan_quotas, 6);

/* Bytes a channel may buffer: an unbuffered one still holds one in hand. */
static u64 kchan_worst_bytes(const struct kchan *ch)
{
	return (u64)max(ch->capacity, 1U) * ch->msg_max;
}

static struct kchan_quota *kchan_quota_get(kuid_t uid)
{
	u32 key = from_kuid(&init_user_ns, uid);
	struct kchan_quota *q;

	hash_for_each_possible(kchan_quotas, q, hnode, key)
		if (uid_eq(q->uid, uid))
			return q;
	q = kzalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return NULL;
	q->uid = uid;
	hash_add(kchan_quotas, &q->hnode, key);
	return q;
}

static void kchan_quota_put(struct kchan_quota *q)
{
	if (!q->channels) {
		hash_del(&q->hnode);
		kfree(q);
	}
}

/* Charge @ch to its owner: EDQUOT over a per-user limit. */
int kchan_quota_charge(struct kchan *ch)
{
	u64 bytes = kchan_worst_bytes(ch);
	struct kchan_quota *q;

	q = kchan_quota_get(ch->owner);
	if (!q)
		return -ENOMEM;
	if (q->channels >= READ_ONCE(kchan_max_user_channels) ||
	    q->bytes + bytes > READ_ONCE(kchan_max_user_bytes)) {
		kchan_quota_put(q);
		return -EDQUOT;
	}
	q->channels++;
	q->bytes += bytes;
	ch->quota = q;
	return 0;
}

void kchan_quota_uncharge(struct kchan *ch)
{
	struct kchan_quota *q = ch->quota;

	if (!q)
		return;
	q->channels--;
	q->bytes -= kchan_worst_bytes(ch);
	ch->quota = NULL;
	kchan_quota_put(q);
}

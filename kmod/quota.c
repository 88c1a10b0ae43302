// SPDX-License-Identifier: GPL-2.0
/*
 * An instance's limits (its mount options), in the spirit of mqueue's
 * RLIMIT_MSGQUEUE: at most max channels in all, and a user may own at
 * most max_user of them whose buffers could hold at most max_user_bytes
 * bytes.  The worst case is charged when a channel is created, so a full
 * channel never fails a send for want of quota.  Named and anonymous
 * channels count alike.  Everything here runs under fs->lock.
 */
#include <linux/hashtable.h>
#include <linux/slab.h>

#include "kchan.h"

struct kchan_quota {
	struct hlist_node hnode;	/* in fs->quotas */
	kuid_t uid;
	unsigned int channels;
	u64 bytes;
};

struct kchan_fs *kchan_fs_alloc(void)
{
	struct kchan_fs *fs = kzalloc(sizeof(*fs), GFP_KERNEL);

	if (!fs)
		return NULL;
	mutex_init(&fs->lock);
	kref_init(&fs->ref);
	hash_init(fs->quotas);
	return fs;
}

static void kchan_fs_release(struct kref *ref)
{
	struct kchan_fs *fs = container_of(ref, struct kchan_fs, ref);

	WARN_ON(fs->count || !hash_empty(fs->quotas));
	kfree(fs);
}

void kchan_fs_put(struct kchan_fs *fs)
{
	kref_put(&fs->ref, kchan_fs_release);
}

/* Bytes a channel may buffer: an unbuffered one still holds one in hand. */
static u64 kchan_worst_bytes(const struct kchan *ch)
{
	return (u64)max(ch->capacity, 1U) * ch->msg_max;
}

static struct kchan_quota *kchan_quota_get(struct kchan_fs *fs, kuid_t uid)
{
	u32 key = __kuid_val(uid);
	struct kchan_quota *q;

	hash_for_each_possible(fs->quotas, q, hnode, key)
		if (uid_eq(q->uid, uid))
			return q;
	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q)
		return NULL;
	q->uid = uid;
	hash_add(fs->quotas, &q->hnode, key);
	return q;
}

static void kchan_quota_put(struct kchan_quota *q)
{
	if (!q->channels) {
		hash_del(&q->hnode);
		kfree(q);
	}
}

/*
 * Charge @ch to its owner in @fs: ENOSPC over the instance's limit,
 * EDQUOT over a per-user one.  The channel then holds the instance.
 */
int kchan_charge(struct kchan_fs *fs, struct kchan *ch)
{
	u64 bytes = kchan_worst_bytes(ch);
	struct kchan_quota *q;
	int ret = 0;

	mutex_lock(&fs->lock);
	if (fs->count >= fs->limits.max) {
		ret = -ENOSPC;
		goto out;
	}
	q = kchan_quota_get(fs, ch->owner);
	if (!q) {
		ret = -ENOMEM;
		goto out;
	}
	if (q->channels >= fs->limits.max_user ||
	    q->bytes + bytes > fs->limits.max_user_bytes) {
		kchan_quota_put(q);
		ret = -EDQUOT;
		goto out;
	}
	q->channels++;
	q->bytes += bytes;
	fs->count++;
	ch->quota = q;
	ch->fs = fs;
	kref_get(&fs->ref);
out:
	mutex_unlock(&fs->lock);
	return ret;
}

/*
 * Give @ch's charge back: at destroy, or when an anonymous channel (or
 * one whose instance went) is freed.  Destroy and free never race: the
 * node holds a user until it is evicted, after destroy.
 */
void kchan_uncharge(struct kchan *ch)
{
	struct kchan_fs *fs = ch->fs;
	struct kchan_quota *q = ch->quota;

	if (!fs)
		return;
	mutex_lock(&fs->lock);
	q->channels--;
	q->bytes -= kchan_worst_bytes(ch);
	kchan_quota_put(q);
	fs->count--;
	mutex_unlock(&fs->lock);
	ch->fs = NULL;
	ch->quota = NULL;
	kchan_fs_put(fs);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The channel object: allocation, its device node and sysfs attributes,
 * close and destroy, and the end of its life.
 */
#include <linux/cred.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

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

/* sysfs: /sys/class/chan/<name>/, one value per file */
static ssize_t kchan_attr_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	const char *name = attr->attr.name;
	struct kchan_info info;

	kchan_fill_info(kchan_from_dev(dev), &info);
	if (!strcmp(name, "capacity"))
		return sysfs_emit(buf, "%u\n", info.capacity);
	if (!strcmp(name, "length"))
		return sysfs_emit(buf, "%u\n", info.length);
	if (!strcmp(name, "msg_max"))
		return sysfs_emit(buf, "%u\n", info.msg_max);
	if (!strcmp(name, "closed"))
		return sysfs_emit(buf, "%d\n", !!(info.state & KCHAN_STATE_CLOSED));
	if (!strcmp(name, "autoclose"))
		return sysfs_emit(buf, "%d\n", !!(info.state & KCHAN_STATE_AUTOCLOSE));
	if (!strcmp(name, "readers"))
		return sysfs_emit(buf, "%u\n", info.readers);
	if (!strcmp(name, "writers"))
		return sysfs_emit(buf, "%u\n", info.writers);
	if (!strcmp(name, "sent"))
		return sysfs_emit(buf, "%llu\n", info.sent);
	if (!strcmp(name, "dropped"))
		return sysfs_emit(buf, "%llu\n", info.dropped);
	if (!strcmp(name, "held"))
		return sysfs_emit(buf, "%u\n", info.held);
	return sysfs_emit(buf, "%llu\n", info.received);
}

static struct device_attribute dev_attr_capacity = __ATTR(capacity, 0444, kchan_attr_show, NULL);
static struct device_attribute dev_attr_length = __ATTR(length, 0444, kchan_attr_show, NULL);
static struct device_attribute dev_attr_msg_max = __ATTR(msg_max, 0444, kchan_attr_show, NULL);
static struct device_attribute dev_attr_closed = __ATTR(closed, 0444, kchan_attr_show, NULL);
static struct device_attribute dev_attr_autoclose = __ATTR(autoclose, 0444, kchan_attr_show, NULL);
static struct device_attribute dev_attr_readers = __ATTR(readers, 0444, kchan_attr_show, NULL);
static struct device_attribute dev_attr_writers = __ATTR(writers, 0444, kchan_attr_show, NULL);
static struct device_attribute dev_attr_sent = __ATTR(sent, 0444, kchan_attr_show, NULL);
static struct device_attribute dev_attr_dropped = __ATTR(dropped, 0444, kchan_attr_show, NULL);
static struct device_attribute dev_attr_received = __ATTR(received, 0444, kchan_attr_show, NULL);
static struct device_attribute dev_attr_held = __ATTR(held, 0444, kchan_attr_show, NULL);

static struct attribute *kchan_attrs[] = {
	&dev_attr_capacity.attr,
	&dev_attr_length.attr,
	&dev_attr_msg_max.attr,
	&dev_attr_closed.attr,
	&dev_attr_autoclose.attr,
	&dev_attr_readers.attr,
	&dev_attr_writers.attr,
	&dev_attr_sent.attr,
	&dev_attr_received.attr,
	&dev_attr_dropped.attr,
	&dev_attr_held.attr,
	NULL,
};
ATTRIBUTE_GROUPS(kchan);

/* /dev/chan/<name>, owned by the creator, with the requested mode */
#ifdef KCHAN_DEVNODE_CONST_DEV	/* since 6.2; see Kbuild */
static char *kchan_devnode(const struct device *dev, umode_t *mode,
			   kuid_t *uid, kgid_t *gid)
#else
static char *kchan_devnode(struct device *dev, umode_t *mode,
			   kuid_t *uid, kgid_t *gid)
#endif
{
	const struct kchan *ch = container_of(dev, struct kchan, dev);

	if (mode)
		*mode = ch->mode;
	if (uid)
		*uid = ch->owner;
	if (gid)
		*gid = ch->group;
	/*
	 * devtmpfs ignores a NULL here and falls back to the bare device
	 * name, which would put the node at /dev/<name>: this short string
	 * must not fail (found by fault injection, chan_faults).
	 */
	return kasprintf(GFP_KERNEL | __GFP_NOFAIL, "chan/%s", ch->name);
}

static const struct device_type kchan_dev_type = {
	.name = "chan",
	.groups = kchan_groups,
	.devnode = kchan_devnode,
};

/*
 * The class comes from class_create(), not a static struct class: its
 * kobject's release may run after module exit (CONFIG_DEBUG_KOBJECT_RELEASE
 * delays every one), and class_release() reads the struct class.  Allocated
 * by the driver core, with the core's release function, it is the core's
 * to free and outlives the module safely.  Set at init, before any channel
 * exists; cleared by nobody.
 */
static struct class *kchan_class;

/*
 * Channels come from their own cache: struct kchan is a little over 1 KiB,
 * and kmalloc would round it up to 2 KiB.
 */
static struct kmem_cache *kchan_cache;

/*
 * Channels allocated and not yet released.  A release may come late, from
 * a workqueue (CONFIG_DEBUG_KOBJECT_RELEASE delays every one): module exit
 * waits for the last before it destroys the cache and the class.
 */
static atomic_t kchan_live = ATOMIC_INIT(0);

int kchan_class_init(void)
{
	kchan_cache = KMEM_CACHE(kchan, SLAB_ACCOUNT);
	if (!kchan_cache)
		return -ENOMEM;
#ifdef class_create	/* before 6.4, a macro that takes the owner too */
	kchan_class = class_create(THIS_MODULE, "chan");
#else
	kchan_class = class_create("chan");
#endif
	if (IS_ERR(kchan_class)) {
		kmem_cache_destroy(kchan_cache);
		return PTR_ERR(kchan_class);
	}
	return 0;
}

/* Module exit, after the registry dropped its references. */
void kchan_class_exit(void)
{
	wait_var_event(&kchan_live, !atomic_read(&kchan_live));
	class_destroy(kchan_class);
	kmem_cache_destroy(kchan_cache);
}

/*
 * A new user: an open file, under ch->lock with the channel not dead, so
 * that destroy's kchan_put() cannot have been the last.
 */
void kchan_get(struct kchan *ch)
{
	lockdep_assert_held(&ch->lock);
	refcount_inc(&ch->users);
	get_device(&ch->dev);
}

/*
 * A user is done; the last one hands the name, minor and quota back.  It
 * takes kchan_registry_lock: never call it under that lock.
 */
void kchan_put(struct kchan *ch)
{
	if (refcount_dec_and_test(&ch->users))
		kchan_registry_forget(ch);
	put_device(&ch->dev);
}

/* The last device reference is gone: nothing can reach the channel. */
static void kchan_dev_release(struct device *dev)
{
	struct kchan *ch = kchan_from_dev(dev);

	kchan_spares_drop(ch, &ch->queue);
	kchan_free_msgs(&ch->queue);
	kchan_free_msgs(&ch->held_msgs);
	kfree(ch->streams);
	kmem_cache_free(kchan_cache, ch);
	/* Last: module exit may go on once this is seen (kchan_class_exit()). */
	if (atomic_dec_and_test(&kchan_live))
		wake_up_var(&kchan_live);
}

/*
 * A new channel, not yet visible.  It holds one user reference, which the
 * caller drops with kchan_put() on failure (kchan_registry_forget() then
 * undoes whatever the registry did) or hands to the registry.
 */
struct kchan *kchan_alloc(const struct kchan_create *req)
{
	struct kchan *ch;
	int ret;

	ch = kmem_cache_zalloc(kchan_cache, GFP_KERNEL);
	if (!ch)
		return ERR_PTR(-ENOMEM);
	atomic_inc(&kchan_live);
	refcount_set(&ch->users, 1);

	spin_lock_init(&ch->lock);
	INIT_LIST_HEAD(&ch->queue);
	INIT_LIST_HEAD(&ch->held_msgs);
	INIT_LIST_HEAD(&ch->recvq);
	INIT_LIST_HEAD(&ch->sendq);
	INIT_LIST_HEAD(&ch->spare);
	init_waitqueue_head(&ch->poll_wq);
	INIT_HLIST_NODE(&ch->hnode);
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

	device_initialize(&ch->dev);
	/* No power management, so no power/ directory in sysfs, no dpm list. */
	device_set_pm_not_required(&ch->dev);
	ch->dev.class = kchan_class;
	ch->dev.type = &kchan_dev_type;
	ch->dev.release = kchan_dev_release;
	ret = dev_set_name(&ch->dev, "%s", ch->name);
	if (ret) {
		put_device(&ch->dev);
		return ERR_PTR(ret);
	}
	return ch;
}

/* Make the node and sysfs directory appear; called under the registry lock. */
int kchan_publish(struct kchan *ch, dev_t devt)
{
	cdev_init(&ch->cdev, &kchan_fops);
	ch->cdev.owner = THIS_MODULE;
	ch->dev.devt = devt;
	return cdev_device_add(&ch->cdev, &ch->dev);
}

/* The node and sysfs directory go; open files keep the object. */
void kchan_unpublish(struct kchan *ch)
{
	cdev_device_del(&ch->cdev, &ch->dev);
}

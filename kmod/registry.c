// SPDX-License-Identifier: GPL-2.0
/*
 * The name table and the control device /dev/chan-control, which creates,
 * closes and destroys channels by name.
 *
 * A channel stays in the table from create until its last user (the
 * registry or an open file) is gone, even after destroy, so a name is
 * never reused while files of the old channel are open (create then
 * fails with EBUSY).
 */
#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kdev_t.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/stringhash.h>
#include <linux/uaccess.h>

#include "kchan.h"

#define KCHAN_MINORS	BIT(MINORBITS)

static DEFINE_MUTEX(kchan_registry_lock);
static DEFINE_HASHTABLE(kchan_names, 10);	/* of kchan.hnode, by name */
static unsigned int kchan_count;		/* entries in kchan_names */
static DEFINE_IDA(kchan_minors);
static dev_t kchan_devt_base;

static u32 kchan_name_hash(const char *name)
{
	return full_name_hash(NULL, name, strlen(name));
}

static struct kchan *kchan_lookup(const char *name)
{
	struct kchan *ch;

	lockdep_assert_held(&kchan_registry_lock);
	hash_for_each_possible(kchan_names, ch, hnode, kchan_name_hash(name))
		if (!strcmp(ch->name, name))
			return ch;
	return NULL;
}

/* Called from kchan_put(): the channel's last user is gone. */
void kchan_registry_forget(struct kchan *ch)
{
	mutex_lock(&kchan_registry_lock);
	if (!hlist_unhashed(&ch->hnode)) {
		hash_del(&ch->hnode);
		kchan_count--;
	}
	kchan_quota_uncharge(ch);
	if (ch->dev.devt)
		ida_free(&kchan_minors, MINOR(ch->dev.devt));
	mutex_unlock(&kchan_registry_lock);
}

/* 1..KCHAN_NAME_MAX-1 bytes of [A-Za-z0-9._-], NUL-terminated, no leading '.' */
static bool kchan_name_valid(const char *name)
{
	size_t len = strnlen(name, KCHAN_NAME_MAX);
	size_t i;

	if (len == 0 || len == KCHAN_NAME_MAX || name[0] == '.')
		return false;
	/* Not isalnum(): the kernel's ctype takes Latin-1 letters too. */
	for (i = 0; i < len; i++)
		if (!isdigit(name[i]) && !strchr("._-", name[i]) &&
		    !(name[i] >= 'a' && name[i] <= 'z') &&
		    !(name[i] >= 'A' && name[i] <= 'Z'))
			return false;
	return true;
}

/*
 * Copy an extensible ioctl struct (see uapi/linux/kchan.h): its first
 * __u32 is the caller's size of it.
 */
int kchan_copy_arg(void *dst, size_t ksize, size_t min_size,
		   const void __user *arg)
{
	u32 usize;

	if (get_user(usize, (const u32 __user *)arg))
		return -EFAULT;
	if (usize < min_size)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(dst, ksize, arg, usize);
}

/* A timer channel has a period, and its capacity and size are fixed. */
static int kchan_check_timer(const struct kchan_create *req)
{
	u32 timer = req->flags & (KCHAN_CREATE_AFTER | KCHAN_CREATE_TICK);

	if (!timer)
		return req->period_ns ? -EINVAL : 0;
	if (timer != KCHAN_CREATE_AFTER && timer != KCHAN_CREATE_TICK)
		return -EINVAL;
	if ((req->flags & KCHAN_CREATE_AUTOCLOSE) || req->capacity ||
	    req->msg_max || req->streams || req->period_ns < KCHAN_TIMER_MIN_NS)
		return -EINVAL;
	return 0;
}

static int kchan_ioctl_create(const void __user *arg)
{
	struct kchan_create req;
	struct kchan *ch, *old;
	int minor, ret;

	ret = kchan_copy_arg(&req, sizeof(req), KCHAN_CREATE_SIZE_VER0, arg);
	if (ret)
		return ret;
	ret = kchan_check_timer(&req);
	if (ret)
		return ret;
	if (req.flags & ~KCHAN_CREATE_FLAGS || req.mode & ~0777 ||
	    req.reserved[0] || req.reserved[1] ||
	    !kchan_name_valid(req.name) ||
	    req.capacity > READ_ONCE(kchan_max_capacity) ||
	    req.msg_max > READ_ONCE(kchan_max_msg_size))
		return -EINVAL;
	if (!req.msg_max && KCHAN_MSG_MAX_DEFAULT > READ_ONCE(kchan_max_msg_size))
		return -EINVAL;
	if (req.streams > KCHAN_STREAMS_MAX)
		return -EINVAL;

	ch = kchan_alloc(&req);
	if (IS_ERR(ch))
		return PTR_ERR(ch);

	mutex_lock(&kchan_registry_lock);
	old = kchan_lookup(ch->name);
	if (old) {
		/* dead is only set under this lock too (kchan_kill callers) */
		ret = old->dead ? -EBUSY : -EEXIST;
		goto out_unlock;
	}
	ret = -ENOSPC;
	if (kchan_count >= READ_ONCE(kchan_max_channels))
		goto out_unlock;
	ret = kchan_quota_charge(ch);
	if (ret)
		goto out_unlock;
	minor = ida_alloc_max(&kchan_minors, KCHAN_MINORS - 1, GFP_KERNEL);
	if (minor < 0) {
		ret = minor;	/* -ENOSPC or -ENOMEM */
		goto out_unlock;
	}
	hash_add(kchan_names, &ch->hnode, kchan_name_hash(ch->name));
	kchan_count++;
	/*
	 * The timer runs before anybody can open the node: a close through
	 * a file opened the moment it appears then stops it (kchan_close()).
	 */
	kchan_timer_start(ch);
	ret = kchan_publish(ch, MKDEV(MAJOR(kchan_devt_base), minor));
	if (ret) {
		/* cdev_device_add() may have let an open through: fail it */
		kchan_kill(ch);
		goto out_unlock;
	}
	mutex_unlock(&kchan_registry_lock);
	return 0;	/* the registry keeps the reference */

out_unlock:
	mutex_unlock(&kchan_registry_lock);
	kchan_put(ch);	/* takes the registry lock: not under it */
	return ret;
}

/* Only the owner or CAP_SYS_ADMIN may close or destroy a channel by name. */
static bool kchan_may_admin(const struct kchan *ch)
{
	return uid_eq(current_fsuid(), ch->owner) || capable(CAP_SYS_ADMIN);
}

static int kchan_ioctl_by_name(unsigned int cmd, const void __user *arg)
{
	struct kchan_name req;
	struct kchan *ch;
	int ret;

	ret = kchan_copy_arg(&req, sizeof(req), KCHAN_NAME_SIZE_VER0, arg);
	if (ret)
		return ret;
	if (req.flags || req.reserved || !kchan_name_valid(req.name))
		return -EINVAL;

	mutex_lock(&kchan_registry_lock);
	ch = kchan_lookup(req.name);
	if (!ch || ch->dead) {
		mutex_unlock(&kchan_registry_lock);
		return -ENOENT;
	}
	if (!kchan_may_admin(ch)) {
		mutex_unlock(&kchan_registry_lock);
		return -EPERM;
	}
	if (cmd == KCHAN_IOC_CLOSE_NAME) {
		ret = kchan_close(ch);
		mutex_unlock(&kchan_registry_lock);
		return ret;
	}
	kchan_kill(ch);
	kchan_unpublish(ch);
	mutex_unlock(&kchan_registry_lock);
	kchan_put(ch);	/* the registry's reference */
	return 0;
}

static long kchan_control_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (KCHAN_IOC_BASE(cmd)) {
	case KCHAN_IOC_BASE(KCHAN_IOC_CREATE):
		return kchan_ioctl_create(argp);
	case KCHAN_IOC_BASE(KCHAN_IOC_DESTROY):
		return kchan_ioctl_by_name(KCHAN_IOC_DESTROY, argp);
	case KCHAN_IOC_BASE(KCHAN_IOC_CLOSE_NAME):
		return kchan_ioctl_by_name(KCHAN_IOC_CLOSE_NAME, argp);
	case KCHAN_IOC_BASE(KCHAN_IOC_SELECT):
		return kchan_ioctl_select(argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations kchan_control_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kchan_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice kchan_control = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "chan-control",
	.fops = &kchan_control_fops,
	.mode = 0666,
};

int kchan_registry_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&kchan_devt_base, 0, KCHAN_MINORS, "chan");
	if (ret)
		return ret;
	ret = kchan_class_init();
	if (ret)
		goto out_region;
	ret = misc_register(&kchan_control);	/* last: now users may create */
	if (ret)
		goto out_class;
	return 0;

out_class:
	kchan_class_exit();
out_region:
	unregister_chrdev_region(kchan_devt_base, KCHAN_MINORS);
	return ret;
}

/* Take one live channel out of the table's hands, or NULL when none is left. */
static struct kchan *kchan_unpublish_any(void)
{
	struct kchan *ch;
	unsigned int bkt;

	mutex_lock(&kchan_registry_lock);
	hash_for_each(kchan_names, bkt, ch, hnode) {
		if (!ch->dead) {
			kchan_kill(ch);
			kchan_unpublish(ch);
			mutex_unlock(&kchan_registry_lock);
			return ch;
		}
	}
	mutex_unlock(&kchan_registry_lock);
	return NULL;
}

/*
 * Module exit: no file of ours is open (each holds a module reference), so
 * dropping the registry's reference is every channel's last kchan_put();
 * their memory may go later (kchan_class_exit() waits for that).
 */
void kchan_registry_exit(void)
{
	struct kchan *ch;

	misc_deregister(&kchan_control);
	while ((ch = kchan_unpublish_any()))
		kchan_put(ch);
	if (kchan_count)
		pr_err("kchan: %u channels still in use at exit\n", kchan_count);
	kchan_class_exit();
	unregister_chrdev_region(kchan_devt_base, KCHAN_MINORS);
	ida_destroy(&kchan_minors);
}

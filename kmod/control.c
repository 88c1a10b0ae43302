// SPDX-License-Identifier: GPL-2.0
/*
 * The control node, <mount>/.control of every kchan instance: creates,
 * closes and destroys the instance's named channels, makes anonymous ones,
 * and selects.  The names themselves are the instance's dentries (fs.c).
 */
#include <linux/anon_inodes.h>
#include <linux/ctype.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "kchan.h"

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

/*
 * The checks CREATE and MAKE share: a valid request, within the module's
 * limits, for a caller the instance can name as an owner.
 */
static int kchan_check_create(const struct kchan_create *req,
			      const struct super_block *sb)
{
	int ret = kchan_check_timer(req);

	if (ret)
		return ret;
	if (req->flags & ~(KCHAN_CREATE_FLAGS | KCHAN_MAKE_FLAGS) ||
	    req->mode & ~0777 || req->reserved[0] || req->reserved[1] ||
	    req->capacity > READ_ONCE(kchan_max_capacity) ||
	    req->msg_max > READ_ONCE(kchan_max_msg_size))
		return -EINVAL;
	if (!req->msg_max && KCHAN_MSG_MAX_DEFAULT > READ_ONCE(kchan_max_msg_size))
		return -EINVAL;
	if (req->streams > KCHAN_STREAMS_MAX)
		return -EINVAL;
	if (!kuid_has_mapping(sb->s_user_ns, current_fsuid()) ||
	    !kgid_has_mapping(sb->s_user_ns, current_fsgid()))
		return -EOVERFLOW;
	return 0;
}

static int kchan_ioctl_create(struct super_block *sb, const void __user *arg)
{
	struct kchan_create req;
	struct kchan *ch;
	int ret;

	ret = kchan_copy_arg(&req, sizeof(req), KCHAN_CREATE_SIZE_VER0, arg);
	if (ret)
		return ret;
	ret = kchan_check_create(&req, sb);
	if (ret)
		return ret;
	if (req.flags & KCHAN_MAKE_FLAGS || !kchan_name_valid(req.name))
		return -EINVAL;

	ch = kchan_alloc(&req);
	if (IS_ERR(ch))
		return PTR_ERR(ch);
	ret = kchan_fs_create(sb, ch);
	if (ret)
		kchan_put(ch);
	return ret;	/* on success the node's inode keeps the reference */
}

/* An anonymous channel: an fd, no name, no node; like pipe2(). */
static int kchan_ioctl_make(struct super_block *sb, const void __user *arg)
{
	struct kchan_create req;
	struct kchan *ch;
	struct file *file;
	int fd, ret;

	ret = kchan_copy_arg(&req, sizeof(req), KCHAN_CREATE_SIZE_VER0, arg);
	if (ret)
		return ret;
	ret = kchan_check_create(&req, sb);
	if (ret)
		return ret;
	if (req.mode || memchr_inv(req.name, 0, sizeof(req.name)))
		return -EINVAL;

	ch = kchan_alloc(&req);
	if (IS_ERR(ch))
		return PTR_ERR(ch);
	ch->flags &= ~KCHAN_MAKE_FLAGS;
	ret = kchan_charge(sb->s_fs_info, ch);
	if (ret)
		goto out_put;
	fd = get_unused_fd_flags(req.flags & KCHAN_MAKE_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0) {
		ret = fd;
		goto out_put;
	}
	file = anon_inode_getfile("[kchan]", &kchan_fops, ch,
				  O_RDWR | (req.flags & KCHAN_MAKE_NONBLOCK ? O_NONBLOCK : 0));
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto out_fd;
	}
	ret = kchan_file_attach(ch, file);	/* cannot fail: nobody can destroy it yet */
	if (ret) {
		fput(file);
		goto out_fd;
	}
	kchan_timer_start(ch);
	kchan_put(ch);		/* the file holds it now */
	fd_install(fd, file);
	return fd;

out_fd:
	put_unused_fd(fd);
out_put:
	kchan_put(ch);
	return ret;
}

static int kchan_ioctl_by_name(struct super_block *sb, unsigned int cmd,
			       const void __user *arg)
{
	struct kchan_name req;
	int ret;

	ret = kchan_copy_arg(&req, sizeof(req), KCHAN_NAME_SIZE_VER0, arg);
	if (ret)
		return ret;
	if (req.flags || req.reserved || !kchan_name_valid(req.name))
		return -EINVAL;
	return kchan_fs_by_name(sb, req.name, cmd == KCHAN_IOC_DESTROY);
}

static long kchan_control_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	struct super_block *sb = file_inode(file)->i_sb;
	void __user *argp = (void __user *)arg;

	switch (KCHAN_IOC_BASE(cmd)) {
	case KCHAN_IOC_BASE(KCHAN_IOC_CREATE):
		return kchan_ioctl_create(sb, argp);
	case KCHAN_IOC_BASE(KCHAN_IOC_MAKE):
		return kchan_ioctl_make(sb, argp);
	case KCHAN_IOC_BASE(KCHAN_IOC_DESTROY):
		return kchan_ioctl_by_name(sb, KCHAN_IOC_DESTROY, argp);
	case KCHAN_IOC_BASE(KCHAN_IOC_CLOSE_NAME):
		return kchan_ioctl_by_name(sb, KCHAN_IOC_CLOSE_NAME, argp);
	case KCHAN_IOC_BASE(KCHAN_IOC_SELECT):
		return kchan_ioctl_select(argp);
	default:
		return -ENOTTY;
	}
}

const struct file_operations kchan_control_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kchan_control_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

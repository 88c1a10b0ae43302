// SPDX-License-Identifier: GPL-2.0
/*
 * kchanfs, the kchan filesystem, after drivers/android/binderfs.c: every
 * mount is an instance (struct kchan_fs) with its own channels and limits,
 * mountable in a user namespace.  Its root holds the control node
 * (control.c) and one character-device inode per named channel; the
 * dcache is the name table (the dentries are pinned, as in ramfs), and
 * the root's i_rwsem serialises create, destroy and close by name.
 *
 * Nothing here is a driver-model device: no sysfs, no uevents.  The inodes
 * open kchan_fops directly (i_fop), so a node copied elsewhere by mknod
 * finds no cdev behind its number and fails to open (ENXIO).
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/idr.h>
#include <linux/kdev_t.h>
#include <linux/magic.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>

#include "kchan.h"

#define KCHANFS_MAGIC		0x6b63686e	/* "kchn" */
#define KCHAN_MINORS		BIT(MINORBITS)
/*
 * Minors instances in user namespaces may not take, so that they cannot
 * starve the initial namespace (binderfs keeps such a reserve too).
 */
#define KCHAN_MINORS_RESERVED	4096

static dev_t kchan_devt;		/* the major, and minor 0: control nodes */
static DEFINE_IDA(kchan_minors);	/* channel nodes: 1..KCHAN_MINORS-1 */

static void kchan_inode_init_ts(struct inode *inode)
{
#ifdef KCHAN_HAVE_INODE_INIT_TS	/* since 6.6; see Kbuild */
	simple_inode_init_ts(inode);
#else
	struct timespec64 now = current_time(inode);

	inode->i_atime = now;
	inode->i_mtime = now;
	inode->i_ctime = now;
#endif
}

/* Only the owner or the instance's CAP_SYS_ADMIN may close or destroy by name. */
static bool kchan_may_admin(const struct inode *inode)
{
	return uid_eq(current_fsuid(), inode->i_uid) ||
	       ns_capable(inode->i_sb->s_user_ns, CAP_SYS_ADMIN);
}

static struct inode *kchan_fs_new_inode(struct super_block *sb, umode_t mode,
					dev_t rdev)
{
	struct inode *inode = new_inode(sb);

	if (!inode)
		return NULL;
	if (S_ISDIR(mode)) {
		inode->i_ino = 1;
		inode->i_mode = mode;
	} else {
		inode->i_ino = MINOR(rdev) + 2;	/* control nodes: 2 */
		init_special_inode(inode, mode, rdev);
	}
	kchan_inode_init_ts(inode);
	return inode;
}

/*
 * Charge @ch, a new channel, to the instance of @sb and make its node in
 * the root.  On success the inode owns the channel's first reference.
 */
int kchan_fs_create(struct super_block *sb, struct kchan *ch)
{
	struct dentry *root = sb->s_root, *dentry;
	unsigned int max = KCHAN_MINORS - 1;
	struct inode *inode;
	int minor, ret;

	if (sb->s_user_ns != &init_user_ns)
		max -= KCHAN_MINORS_RESERVED;
	minor = ida_alloc_range(&kchan_minors, 1, max, GFP_KERNEL);
	if (minor < 0)
		return minor;

	ret = -ENOMEM;
	inode = kchan_fs_new_inode(sb, S_IFCHR | ch->mode, MKDEV(MAJOR(kchan_devt), minor));
	if (!inode)
		goto out_minor;
	inode->i_uid = ch->owner;
	inode->i_gid = ch->group;
	inode->i_fop = &kchan_fops;

	inode_lock(d_inode(root));
	dentry = lookup_one_len(ch->name, root, strlen(ch->name));
	if (IS_ERR(dentry)) {
		ret = PTR_ERR(dentry);
		goto out_unlock;
	}
	ret = -EEXIST;
	if (d_really_is_positive(dentry))
		goto out_dput;
	ret = kchan_charge(sb->s_fs_info, ch);
	if (ret)
		goto out_dput;
	/* From here on the inode's eviction puts the channel. */
	ch->minor = minor;
	inode->i_private = ch;
	kchan_timer_start(ch);	/* a close through the new node then stops it */
	d_instantiate(dentry, inode);	/* the dentry keeps its reference: pinned */
	inode_unlock(d_inode(root));
	return 0;

out_dput:
	dput(dentry);
out_unlock:
	inode_unlock(d_inode(root));
	iput(inode);
out_minor:
	ida_free(&kchan_minors, minor);
	return ret;
}

void kchan_fs_free_minor(struct kchan *ch)
{
	if (ch->minor)
		ida_free(&kchan_minors, ch->minor);
}

/* Destroy the channel of @dentry, a positive child of the root; its lock held. */
static void kchan_fs_remove(struct inode *dir, struct dentry *dentry)
{
	struct kchan *ch = d_inode(dentry)->i_private;

	kchan_kill(ch);
	/*
	 * A dead channel buffers nothing: its place and charge go back now,
	 * not when the last file (an O_PATH one, say, which needs no
	 * permission) lets the inode go.
	 */
	kchan_uncharge(ch);
	simple_unlink(dir, dentry);	/* drops the pin */
}

/*
 * rm /dev/chan/<name>, with the ioctl's rule: the root is 0777 and not
 * sticky so that the VFS leaves the decision to us (its sticky check would
 * refuse an admin without CAP_FOWNER).  The control node stays.
 */
static int kchan_fs_unlink(struct inode *dir, struct dentry *dentry)
{
	struct inode *inode = d_inode(dentry);

	if (!inode->i_private || !kchan_may_admin(inode))
		return -EPERM;
	kchan_fs_remove(dir, dentry);
	return 0;
}

/*
 * KCHAN_IOC_DESTROY (@destroy) or KCHAN_IOC_CLOSE_NAME on the instance of
 * @sb: find the channel, check the caller may, do it.
 */
int kchan_fs_by_name(struct super_block *sb, const char *name, bool destroy)
{
	struct inode *dir = d_inode(sb->s_root);
	struct dentry *dentry;
	struct inode *inode;
	int ret;

	inode_lock_nested(dir, I_MUTEX_PARENT);
	dentry = lookup_one_len(name, sb->s_root, strlen(name));
	if (IS_ERR(dentry)) {
		inode_unlock(dir);
		return PTR_ERR(dentry);
	}
	inode = d_inode(dentry);
	ret = -ENOENT;
	if (!inode || !inode->i_private)
		goto out;
	ret = -EPERM;
	if (!kchan_may_admin(inode))
		goto out;
	if (!destroy) {
		ret = kchan_close(inode->i_private);
		goto out;
	}
	ret = -EBUSY;
	if (d_mountpoint(dentry))
		goto out;
	inode_lock(inode);
	kchan_fs_remove(dir, dentry);
	inode_unlock(inode);
	d_delete(dentry);
	ret = 0;
out:
	dput(dentry);
	inode_unlock(dir);
	return ret;
}

static const struct inode_operations kchan_fs_dir_iops = {
	.lookup = simple_lookup,
	.unlink = kchan_fs_unlink,
};

/* The last reference to a node is gone: its channel loses the node's. */
static void kchan_fs_evict_inode(struct inode *inode)
{
	struct kchan *ch = inode->i_private;

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	if (ch)
		kchan_put(ch);
}

/* Mount options, as at mount time and on remount */
enum { KCHAN_OPT_MAX, KCHAN_OPT_MAX_USER, KCHAN_OPT_MAX_USER_BYTES };

static const struct fs_parameter_spec kchan_fs_params[] = {
	fsparam_u32("max", KCHAN_OPT_MAX),
	fsparam_u32("max_user", KCHAN_OPT_MAX_USER),
	fsparam_u64("max_user_bytes", KCHAN_OPT_MAX_USER_BYTES),
	{}
};

#define KCHAN_FS_MAX_DEFAULT		4096
#define KCHAN_FS_MAX_USER_DEFAULT	1024
#define KCHAN_FS_MAX_USER_BYTES_DEFAULT	(64ULL << 20)

static int kchan_fs_show_options(struct seq_file *seq, struct dentry *root)
{
	const struct kchan_fs *fs = root->d_sb->s_fs_info;

	seq_printf(seq, ",max=%u,max_user=%u,max_user_bytes=%llu",
		   READ_ONCE(fs->limits.max), READ_ONCE(fs->limits.max_user),
		   READ_ONCE(fs->limits.max_user_bytes));
	return 0;
}

static const struct super_operations kchan_fs_sops = {
	.statfs = simple_statfs,
	.drop_inode = generic_delete_inode,
	.evict_inode = kchan_fs_evict_inode,
	.show_options = kchan_fs_show_options,
};

static int kchan_fs_parse_param(struct fs_context *fc,
				struct fs_parameter *param)
{
	struct kchan_fs_limits *limits = fc->fs_private;
	struct fs_parse_result result;
	int opt;

	opt = fs_parse(fc, kchan_fs_params, param, &result);
	if (opt < 0)
		return opt;
	switch (opt) {
	case KCHAN_OPT_MAX:
		limits->max = result.uint_32;
		break;
	case KCHAN_OPT_MAX_USER:
		limits->max_user = result.uint_32;
		break;
	case KCHAN_OPT_MAX_USER_BYTES:
		limits->max_user_bytes = result.uint_64;
		break;
	}
	return 0;
}

/* The root: the control node, and the channels' nodes as they come. */
static int kchan_fs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct kchan_fs *fs = sb->s_fs_info;
	struct inode *inode, *dir;
	struct dentry *dentry;

	/* Channel nodes must open in a user namespace's mount too. */
	sb->s_iflags &= ~SB_I_NODEV;
	sb->s_iflags |= SB_I_NOEXEC;
	/*
	 * st_blksize: stdio sizes its buffer by it, and a 1-byte one would
	 * make the shell's `echo hi > /dev/chan/x` three messages.
	 */
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = KCHANFS_MAGIC;
	sb->s_op = &kchan_fs_sops;
	sb->s_time_gran = 1;

	dir = kchan_fs_new_inode(sb, S_IFDIR | 0777, 0);
	if (!dir)
		return -ENOMEM;
	dir->i_uid = make_kuid(sb->s_user_ns, 0);
	dir->i_gid = make_kgid(sb->s_user_ns, 0);
	dir->i_op = &kchan_fs_dir_iops;
	dir->i_fop = &simple_dir_operations;
	set_nlink(dir, 2);
	sb->s_root = d_make_root(dir);
	if (!sb->s_root)
		return -ENOMEM;

	inode = kchan_fs_new_inode(sb, S_IFCHR | 0666, kchan_devt);
	if (!inode)
		return -ENOMEM;
	inode->i_uid = dir->i_uid;
	inode->i_gid = dir->i_gid;
	inode->i_fop = &kchan_control_fops;
	dentry = d_alloc_name(sb->s_root, KCHAN_CONTROL_NAME);
	if (!dentry) {
		iput(inode);
		return -ENOMEM;
	}
	d_add(dentry, inode);	/* pinned like the channels' */
	fs->limits = *(struct kchan_fs_limits *)fc->fs_private;
	return 0;
}

static int kchan_fs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, kchan_fs_fill_super);
}

/* Remount: the limits change for new channels; existing ones stay. */
static int kchan_fs_reconfigure(struct fs_context *fc)
{
	struct kchan_fs *fs = fc->root->d_sb->s_fs_info;
	const struct kchan_fs_limits *limits = fc->fs_private;

	mutex_lock(&fs->lock);
	WRITE_ONCE(fs->limits.max, limits->max);
	WRITE_ONCE(fs->limits.max_user, limits->max_user);
	WRITE_ONCE(fs->limits.max_user_bytes, limits->max_user_bytes);
	mutex_unlock(&fs->lock);
	return 0;
}

static void kchan_fs_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
	if (fc->s_fs_info)
		kchan_fs_put(fc->s_fs_info);
}

static const struct fs_context_operations kchan_fs_context_ops = {
	.free = kchan_fs_free_fc,
	.parse_param = kchan_fs_parse_param,
	.get_tree = kchan_fs_get_tree,
	.reconfigure = kchan_fs_reconfigure,
};

/*
 * A new mount starts from the defaults; a remount from the instance's own
 * limits, so that it changes only what it names.
 */
static int kchan_fs_init_fs_context(struct fs_context *fc)
{
	struct kchan_fs_limits *limits;

	limits = kzalloc(sizeof(*limits), GFP_KERNEL);
	if (!limits)
		return -ENOMEM;
	if (fc->root) {
		struct kchan_fs *fs = fc->root->d_sb->s_fs_info;

		mutex_lock(&fs->lock);
		*limits = fs->limits;
		mutex_unlock(&fs->lock);
	} else {
		limits->max = KCHAN_FS_MAX_DEFAULT;
		limits->max_user = KCHAN_FS_MAX_USER_DEFAULT;
		limits->max_user_bytes = KCHAN_FS_MAX_USER_BYTES_DEFAULT;
		fc->s_fs_info = kchan_fs_alloc();
		if (!fc->s_fs_info) {
			kfree(limits);
			return -ENOMEM;
		}
	}
	fc->fs_private = limits;
	fc->ops = &kchan_fs_context_ops;
	return 0;
}

/*
 * The instance outlives its super block while anonymous channels made
 * through it, or channels still being freed, hold it (kchan_charge()).
 */
static void kchan_fs_kill_sb(struct super_block *sb)
{
	struct kchan_fs *fs = sb->s_fs_info;

	kill_litter_super(sb);
	if (fs)
		kchan_fs_put(fs);
}

static struct file_system_type kchan_fs_type = {
	.owner = THIS_MODULE,
	.name = KCHAN_FS_TYPE,
	.init_fs_context = kchan_fs_init_fs_context,
	.parameters = kchan_fs_params,
	.kill_sb = kchan_fs_kill_sb,
	.fs_flags = FS_USERNS_MOUNT,
};
MODULE_ALIAS_FS(KCHAN_FS_TYPE);

int kchan_fs_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&kchan_devt, 0, KCHAN_MINORS, KCHAN_FS_TYPE);
	if (ret)
		return ret;
	ret = register_filesystem(&kchan_fs_type);	/* last: now users may mount */
	if (ret)
		unregister_chrdev_region(kchan_devt, KCHAN_MINORS);
	return ret;
}

/* No instance is mounted and no file is open: each holds a module reference. */
void kchan_fs_exit(void)
{
	unregister_filesystem(&kchan_fs_type);
	unregister_chrdev_region(kchan_devt, KCHAN_MINORS);
	ida_destroy(&kchan_minors);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: Go-style channels as character devices, /dev/chan/<name>.
 * Module parameters (the limits of every channel; those of an instance
 * are its mount options, fs.c) and module init/exit.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "kchan.h"

unsigned int kchan_max_capacity = 65536;
module_param_named(max_capacity, kchan_max_capacity, uint, 0644);
MODULE_PARM_DESC(max_capacity, "Largest capacity of a channel, in messages (EINVAL beyond)");

unsigned int kchan_max_msg_size = 1 << 20;
module_param_named(max_msg_size, kchan_max_msg_size, uint, 0644);
MODULE_PARM_DESC(max_msg_size, "Largest msg_max of a channel, in bytes (EINVAL beyond)");

static int __init kchan_init(void)
{
	int ret;

	ret = kchan_cache_init();
	if (ret)
		return ret;
	ret = kchan_fs_init();
	if (ret)
		kchan_cache_exit();
	return ret;
}

static void __exit kchan_exit(void)
{
	kchan_fs_exit();
	kchan_cache_exit();
}

module_init(kchan_init);
module_exit(kchan_exit);

MODULE_DESCRIPTION("Go-style channels as character devices");
MODULE_AUTHOR("The kchan developers");
MODULE_LICENSE("GPL");

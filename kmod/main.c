// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: Go-style channels as character devices, /dev/chan/<name>.
 * Module parameters (the limits) and module init/exit.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "kchan.h"

unsigned int kchan_max_channels = 4096;
module_param_named(max_channels, kchan_max_channels, uint, 0644);
MODULE_PARM_DESC(max_channels, "Most channels that may exist at once (ENOSPC beyond)");

unsigned int kchan_max_capacity = 65536;
module_param_named(max_capacity, kchan_max_capacity, uint, 0644);
MODULE_PARM_DESC(max_capacity, "Largest capacity of a channel, in messages (EINVAL beyond)");

unsigned int kchan_max_msg_size = 1 << 20;
module_param_named(max_msg_size, kchan_max_msg_size, uint, 0644);
MODULE_PARM_DESC(max_msg_size, "Largest msg_max of a channel, in bytes (EINVAL beyond)");

unsigned int kchan_max_user_channels = 1024;
module_param_named(max_user_channels, kchan_max_user_channels, uint, 0644);
MODULE_PARM_DESC(max_user_channels, "Most channels one user may own (EDQUOT beyond)");

unsigned long kchan_max_user_bytes = 64UL << 20;
module_param_named(max_user_bytes, kchan_max_user_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_bytes,
		 "Most bytes the channels of one user may buffer, max(capacity, 1) * msg_max each (EDQUOT beyond)");

static int __init kchan_init(void)
{
	return kchan_registry_init();
}

static void __exit kchan_exit(void)
{
	kchan_registry_exit();
}

module_init(kchan_init);
module_exit(kchan_exit);

MODULE_DESCRIPTION("Go-style channels as character devices");
MODULE_AUTHOR("The kchan developers");
MODULE_LICENSE("GPL");

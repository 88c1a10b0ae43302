// SPDX-License-Identifier: GPL-2.0
/*
 * May the local peer of a UNIX-socket connection open /dev/chan/NAME itself?
 * The daemon opens channels with its own rights (root, usually), so without
 * this check any local user would reach every export whatever the node's
 * mode.  The peer's uid, gid (SO_PEERCRED) and supplementary groups
 * (SO_PEERGROUPS) are those it had when it connected, and the kernel keeps
 * them with the socket: no /proc lookup of a pid that may have been reused.
 * The node's owner, group and mode bits decide, as for open(2): the owner
 * class if the uid owns it, else the group class if the peer is in its
 * group, else the other class.  Root (uid 0) may open anything.  A node
 * with a POSIX ACL is refused to everyone but its owner and root: its
 * named entries are not evaluated here, and its group bits are only the
 * ACL's mask.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "bridge.h"
#include "kch.h"

/* Is gid among the peer's groups (primary or supplementary)? */
static int peer_in_group(int fd, const struct ucred *cr, gid_t gid)
{
	socklen_t len = 0;
	gid_t *groups;
	int in = 0;

	if (cr->gid == gid)
		return 1;
	/* Asked with no room, the kernel says how much it needs (ERANGE). */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &len) < 0 && errno != ERANGE)
		return -1;
	if (!len)
		return 0;
	groups = malloc(len);
	if (!groups)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		free(groups);
		return -1;
	}
	for (size_t i = 0; i < len / sizeof(*groups); i++)
		in |= groups[i] == gid;
	free(groups);
	return in;
}

/* 0 if the peer may open NAME for writing (write) or reading; else -EACCES. */
int peer_may_open(const struct conn *c, const char *name, int write)
{
	char path[sizeof(KCHAN_DEV_DIR) + CB_NAME_MAX + 2];
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct stat st;
	mode_t want = write ? S_IWOTH : S_IROTH;
	int in;

	if (c->b->addr.ss_family != AF_UNIX)
		return 0;	/* TCP: the key is the authority, not a uid */
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -EACCES;
	if (cr.uid == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", KCHAN_DEV_DIR, name);
	if (stat(path, &st) < 0)
		return -EACCES;	/* fail closed; and say nothing of what exists */
	if (cr.uid == st.st_uid)
		return st.st_mode & (want << 6) ? 0 : -EACCES;
	if (getxattr(path, "system.posix_acl_access", NULL, 0) > 0)
		return -EACCES;
	in = peer_in_group(c->fd, &cr, st.st_gid);
	if (in < 0)
		return -EACCES;
	if (in)
		return st.st_mode & (want << 3) ? 0 : -EACCES;
	return st.st_mode & want ? 0 : -EACCES;
}

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# A TCP relay between a chanbridge importer and its serve that can make the
# first connection half-dead, the way a lost FIN or a NAT reset does
# (tests/guest-bridge-holders.sh, issue 13):
#
#   halfdead_proxy.py LISTEN_PORT UPSTREAM_PORT [DROP_AFTER]
#
# Listens on 127.0.0.1:LISTEN_PORT and relays every connection to
# 127.0.0.1:UPSTREAM_PORT.  With DROP_AFTER > 0, the first connection is
# relayed cleanly until DROP_AFTER bytes went server -> importer; every later
# server -> importer byte is read and thrown away (importer -> server still
# flows, frame by frame).  When the importer gives up, the ERROR frame it
# sends as it closes is withheld, and the server's side stays open, unshut,
# still drained, until the server closes it itself: the server learns of the
# importer's end only from its own keepalive.
# Every later connection (the importer's reconnects) is a clean relay.
# DROP_AFTER 0 (the default) relays every connection cleanly.
#
# Standard library only.  One line per event on stderr, for the test to wait
# on: "listening on ...", "conn K: accepted", "conn K: dropping server ->
# importer bytes after N", "conn K: the importer's ERROR frame withheld",
# "conn K: importer closed; keeping the server's side open", "conn K:
# server closed (R bytes relayed, D dropped)".
import socket
import sys
import threading

CB_ERROR = 13	# frame.h: a 32-bit big-endian length, then the type byte


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


class Conn:
    def __init__(self, k, imp, up, drop_after):
        self.k = k
        self.imp = imp
        self.up = up
        self.drop_after = drop_after	# 0: clean relay
        self.down_bytes = 0		# server -> importer, relayed
        self.dropped = 0		# server -> importer, thrown away
        self.dropping = False
        self.up_buf = b""		# importer -> server: a frame not yet complete
        self.left = 2
        self.lock = threading.Lock()

    def done(self):
        with self.lock:
            self.left -= 1
            last = self.left == 0
        if last:
            for s in (self.imp, self.up):
                try:
                    s.close()
                except OSError:
                    pass
            log("conn %d: closed" % self.k)

    def down(self):
        """server -> importer"""
        try:
            while True:
                try:
                    b = self.up.recv(65536)
                except OSError as e:
                    log("conn %d: server side: %s" % (self.k, e))
                    b = b""
                if not b:
                    log("conn %d: server closed (%d bytes relayed, %d dropped)"
                        % (self.k, self.down_bytes, self.dropped))
                    if not self.dropping:
                        try:
                            self.imp.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                    return
                if self.dropping:
                    self.dropped += len(b)
                    continue
                if self.drop_after and self.down_bytes + len(b) >= self.drop_after:
                    keep = self.drop_after - self.down_bytes
                    self.dropping = True
                    self.dropped += len(b) - keep
                    b = b[:keep]
                    log("conn %d: dropping server -> importer bytes after %d"
                        % (self.k, self.drop_after))
                if b:
                    try:
                        self.imp.sendall(b)
                    except OSError:
                        pass	# the importer is gone: keep draining the server
                    self.down_bytes += len(b)
        finally:
            self.done()

    def frames(self, b):
        """The complete frames in what came from the importer, but for the
        ERROR frames it sends once it is dropping: an importer that gives up
        tells the server why just before its FIN, and both are lost."""
        self.up_buf += b
        out = bytearray()
        while len(self.up_buf) >= 5:
            n = 4 + int.from_bytes(self.up_buf[:4], "big")
            if len(self.up_buf) < n:
                break
            f, self.up_buf = self.up_buf[:n], self.up_buf[n:]
            if self.dropping and f[4] == CB_ERROR:
                log("conn %d: the importer's ERROR frame withheld (lost with its FIN)"
                    % self.k)
                continue
            out += f
        return bytes(out)

    def upward(self):
        """importer -> server"""
        try:
            while True:
                try:
                    b = self.imp.recv(65536)
                except OSError as e:
                    log("conn %d: importer side: %s" % (self.k, e))
                    b = b""
                if not b:
                    if self.dropping:
                        log("conn %d: importer closed; keeping the server's side open"
                            % self.k)
                        return
                    log("conn %d: importer closed" % self.k)
                    try:
                        self.up.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                if self.drop_after:
                    b = self.frames(b)
                try:
                    self.up.sendall(b)
                except OSError as e:
                    log("conn %d: server side: %s" % (self.k, e))
                    return
        finally:
            self.done()


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write("usage: halfdead_proxy.py LISTEN_PORT UPSTREAM_PORT [DROP_AFTER]\n")
        return 2
    port, upstream = int(sys.argv[1]), int(sys.argv[2])
    drop_after = int(sys.argv[3]) if len(sys.argv) == 4 else 0
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    log("listening on 127.0.0.1:%d, relaying to 127.0.0.1:%d, %s" % (
        port, upstream, "the first connection half-dead after %d bytes" % drop_after
        if drop_after else "cleanly"))
    k = 0
    while True:
        imp, _ = ls.accept()
        k += 1
        try:
            up = socket.create_connection(("127.0.0.1", upstream))
        except OSError as e:
            log("conn %d: accepted, but connecting upstream: %s" % (k, e))
            imp.close()
            continue
        for s in (imp, up):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = Conn(k, imp, up, drop_after if k == 1 else 0)
        log("conn %d: accepted, %s" % (k, "half-dead after %d bytes" % drop_after
                                         if c.drop_after else "relayed cleanly"))
        threading.Thread(target=c.down, daemon=True).start()
        threading.Thread(target=c.upward, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())

"""A TCP proxy inside the test, between an edge node and its hub, that can cut the link.

    proxy = TcpProxy(hub_port)          # listens on 127.0.0.1:proxy.port
    proxy.cut()     # closes every connection and refuses new ones (accept, then close)
    proxy.hold()    # a black hole: connections stay open, no byte moves either way
    proxy.restore() # forwards again (held connections are closed first: their bytes are lost)
    proxy.retarget(new_hub_port)        # after a hub restart on another port
    proxy.limit(bytes_per_s)            # throttles the hub-bound direction (None: no limit)

Threads only (no sleeps as synchronisation: each pump blocks in select with a short timeout so
a mode change takes effect promptly).
"""
import select
import socket
import threading
import time


class TcpProxy:
    def __init__(self, target_port, target_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.mode = "pass"
        self.rate = None
        self.lock = threading.Lock()
        self.pairs = []
        self.bytes_up = 0
        self.bytes_down = 0
        self.connections = 0
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(128)
        self.port = self.srv.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def retarget(self, port):
        with self.lock:
            self.target = (self.target[0], port)

    def limit(self, bytes_per_s):
        self.rate = bytes_per_s

    def cut(self):
        with self.lock:
            self.mode = "drop"
            pairs, self.pairs = self.pairs, []
        for a, b in pairs:
            _close(a, b)

    def hold(self):
        with self.lock:
            self.mode = "hold"

    def restore(self):
        with self.lock:
            held = self.pairs if self.mode == "hold" else []
            if held:
                self.pairs = []
            self.mode = "pass"
        for a, b in held:
            _close(a, b)

    def close(self):
        self.closed = True
        self.cut()
        self.srv.close()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.srv.accept()
            except OSError:
                return
            with self.lock:
                mode, target = self.mode, self.target
            if mode == "drop":
                client.close()
                continue
            try:
                upstream = socket.create_connection(target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, upstream))
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client, upstream):
        socks = [client, upstream]
        try:
            while True:
                with self.lock:
                    alive = (client, upstream) in self.pairs
                    mode = self.mode
                if not alive:
                    return
                r, _, _ = select.select(socks, [], [], 0.05)
                if mode == "hold":
                    continue  # leave the bytes in the kernel buffers
                for s in r:
                    rate = self.rate if s is client else None
                    # Throttled: small reads, each followed by its share of a second.
                    data = s.recv(max(1, rate // 20) if rate else 65536)
                    if not data:
                        return
                    dst = upstream if s is client else client
                    if s is client:
                        self.bytes_up += len(data)
                    else:
                        self.bytes_down += len(data)
                    dst.sendall(data)
                    if rate:
                        time.sleep(len(data) / rate)  # pacing the link, not synchronisation
        except OSError:
            return
        finally:
            with self.lock:
                if (client, upstream) in self.pairs:
                    self.pairs.remove((client, upstream))
            _close(client, upstream)


def _close(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

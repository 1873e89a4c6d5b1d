"""
Fake pveproxy for the fake hosts (TESTS ONLY): a TLS server on
<address>:8006 that answers every request with 401, started by the fake
`pvenode cert set --restart 1` (test/fakes/sbin/pvenode).

Which certificate (pve-manager PVE/Service/pveproxy.pm init): the custom
/etc/pve/local/pveproxy-ssl.pem with its .key when both exist, else
pve-ssl.pem/.key; /etc/pve/local is pmxcfs's link to /etc/pve/nodes/<node>.
The chain file is loaded as a chain (CTX_use_certificate_chain_file), so the
issuers in it are sent too. Read once at start: a new certificate needs a
restart, as with the real daemon.

It exits by itself once its fake host is gone (the harness removed its
state directory), so no test leaves it behind.
"""
import os
import socket
import ssl
import sys
import threading
import time

node, address = sys.argv[1], sys.argv[2]
base = "/etc/pve/nodes/%s/" % node
cert, key = base + "pveproxy-ssl.pem", base + "pveproxy-ssl.key"
if not (os.path.isfile(cert) and os.path.isfile(key)):
    cert, key = base + "pve-ssl.pem", base + "pve-ssl.key"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)

family = socket.AF_INET6 if ":" in address else socket.AF_INET
srv = socket.socket(family, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
for attempt in range(100):
    try:
        srv.bind((address, 8006))
        break
    except OSError:
        # the previous instance is still exiting (restart)
        if attempt == 99:
            raise
        time.sleep(0.1)
srv.listen(16)
srv.settimeout(0.5)
marker = "/var/lib/fakepve/hosts/%s/host.json" % node


def serve(conn):
    try:
        with ctx.wrap_socket(conn, server_side=True) as s:
            s.settimeout(5)
            s.recv(4096)
            s.sendall(b"HTTP/1.1 401 No ticket\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except (OSError, ssl.SSLError):
        pass


while os.path.exists(marker):
    try:
        conn, _ = srv.accept()
    except OSError:
        # socket.timeout (to look at the marker again), or a client that went
        # away before accept (ECONNABORTED under load): keep serving.
        continue
    threading.Thread(target=serve, args=(conn,), daemon=True).start()

"""An HTTPS server on 127.0.0.1 for the tests, with a certificate of the test corporate CA.

Usage: tlsd.py CERT KEY DIR. Serves the files under DIR; prints its port on the first line of
stdout, then serves until stdin closes.
"""

import functools
import http.server
import ssl
import sys
import threading

cert, key, root = sys.argv[1:4]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()

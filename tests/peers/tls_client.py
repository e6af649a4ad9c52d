"""A TLS client that trusts one CA only (python's stdlib ssl, i.e. OpenSSL).

usage: tls_client.py PORT CA_FILE NAME...

For each NAME (host name or IP address) connects to 127.0.0.1:PORT,
verifies the server's chain against CA_FILE alone (no system store) and
the certificate's names against NAME, with OpenSSL's strict X.509 checks
and its TLS-server purpose (EKU serverAuth), then sends GET /healthz.
Prints one JSON object per NAME: ok, status, the peer certificate's
validity (epoch seconds), SANs and issuer CN — or the verification error.
"""

import json
import socket
import ssl
import sys

port = int(sys.argv[1])
cafile = sys.argv[2]

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
ctx.load_verify_locations(cafile=cafile)
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
stats = ctx.cert_store_stats()
assert stats["x509_ca"] == 1 and stats["x509"] == 1, stats

for name in sys.argv[3:]:
    out = {"name": name}
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as s:
                cert = s.getpeercert()
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: calproxy\r\nConnection: close\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        out["ok"] = True
        out["status"] = int(data.split(b" ", 2)[1])
        out["not_before"] = ssl.cert_time_to_seconds(cert["notBefore"])
        out["not_after"] = ssl.cert_time_to_seconds(cert["notAfter"])
        out["san"] = [f"{k}:{v}" for k, v in cert.get("subjectAltName", ())]
        out["issuer_cn"] = [v for rdn in cert["issuer"] for k, v in rdn if k == "commonName"]
    except ssl.SSLCertVerificationError as e:
        out["ok"] = False
        out["error"] = e.verify_message
    print(json.dumps(out), flush=True)

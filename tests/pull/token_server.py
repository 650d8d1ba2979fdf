#!/usr/bin/env python3
"""A small Docker registry token server for the pull tests.

token_server.py PORT KEY.pem CERT.pem ISSUER SERVICE USER:PASS LOG

GET /token?service=S&scope=repository:NAME:ACTIONS with Basic USER:PASS
answers {"token": JWT, "access_token": JWT} where JWT is RS256-signed by
KEY.pem and carries CERT.pem in its x5c header (the registry trusts it through
its rootcertbundle).  Wrong or missing credentials get 401; every request is
logged to LOG as "STATUS SCOPE"."""
import base64, json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

port, key_path, cert_path, issuer, service, creds, log_path = sys.argv[1:8]
with open(key_path, "rb") as f:
    KEY = serialization.load_pem_private_key(f.read(), password=None)
with open(cert_path, "rb") as f:
    CERT_DER = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_token(scopes):
    now = int(time.time())
    access = []
    for s in scopes:
        parts = s.split(":")
        if len(parts) >= 3 and parts[0] == "repository":
            access.append({"type": "repository", "name": ":".join(parts[1:-1]),
                           "actions": [a for a in parts[-1].split(",") if a in ("pull", "push")]})
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(CERT_DER).decode()]}
    claims = {"iss": issuer, "sub": creds.split(":")[0], "aud": service, "exp": now + 600,
              "nbf": now - 10, "iat": now, "jti": b64url(os.urandom(12)), "access": access}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = KEY.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def answer(self, status, body, scope):
        with open(log_path, "a") as f:
            f.write("%d %s\n" % (status, scope))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="token"')
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        scope = " ".join(q.get("scope", []))
        if u.path != "/token":
            return self.answer(404, {"error": "not found"}, scope)
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(creds.encode()).decode()
        if auth != want:
            return self.answer(401, {"error": "bad credentials"}, scope)
        if q.get("service", [""])[0] != service:
            return self.answer(400, {"error": "unknown service"}, scope)
        tok = make_token(q.get("scope", []))
        self.answer(200, {"token": tok, "access_token": tok, "expires_in": 600}, scope)


ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()

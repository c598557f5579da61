"""A fastapi-users client and a PyJWT verifier, run against the example.

TestExampleWorksWithPyJWT runs it with Debian's /usr/bin/python3 and its
python3-jwt (PyJWT 2.6.0). Arguments: the example's base URL, an e-mail and
a password of a registered, unverified user; the SECRET is in the
GINUSERS_SECRET environment variable. It prints one JSON object, which the
Go test checks; errors are reported in it, not raised.
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

import jwt

base, email, password = sys.argv[1:4]
secret = os.environ["GINUSERS_SECRET"]
out = {"pyjwt": jwt.__version__}


def call(method, path, body=None, token=None, form=False):
    """Sends a request; returns the status and the decoded JSON body."""
    headers, data = {}, None
    if form:
        data = urllib.parse.urlencode(body).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


def generate_jwt(data, lifetime_seconds=3600):
    """fastapi_users.jwt.generate_jwt, with HS256."""
    payload = data.copy()
    payload["exp"] = datetime.now(timezone.utc) + timedelta(seconds=lifetime_seconds)
    return jwt.encode(payload, secret, algorithm="HS256")


# (a) Log in as a fastapi-users client does, and verify the access token as
# a PyJWT service would (fastapi_users.jwt.decode_jwt).
out["login_status"], body = call("POST", "/auth/jwt/login", {"username": email, "password": password}, form=True)
token = body.get("access_token", "") if isinstance(body, dict) else ""
try:
    out["login_claims"] = jwt.decode(token, secret, algorithms=["HS256"], audience="fastapi-users:auth")
except jwt.PyJWTError as e:
    out["login_decode_error"] = f"{type(e).__name__}: {e}"
out["me_status"], me = call("GET", "/users/me", token=token)
user_id = me.get("id") if isinstance(me, dict) else None

# (b) An access token minted as fastapi-users' JWTStrategy.write_token does.
minted = generate_jwt({"sub": str(user_id), "aud": ["fastapi-users:auth"]})
out["minted_access_status"], body = call("GET", "/users/me", token=minted)
out["minted_access_id"] = body.get("id") if isinstance(body, dict) else None

# (c) A verify token minted as BaseUserManager.request_verify does.
verify = generate_jwt({"sub": str(user_id), "email": me.get("email") if isinstance(me, dict) else None, "aud": "fastapi-users:verify"})
out["minted_verify_status"], body = call("POST", "/auth/verify", {"token": verify})
out["minted_verify_body"] = body

print(json.dumps(out))

#!/usr/bin/python3
"""parleyd's authentication, authorization and per-user limits against real
servers over real sockets: bearer JWTs (HS256, RS256, ES256) and the tokens
they must refuse, API keys made and revoked over /api/keys, credentials on
WebSocket upgrades (?token= and a `bearer.` subprotocol), ownership of every
resource, run and event log (another user's id answers like a missing one,
over REST and WebSocket), `--auth none` only on loopback, and the per-user
request budget, chat budget and run limit.

Run as:  /usr/bin/python3 security_test.py --parleyd PATH [CASE...]

Every server here passes `--auth on` and its limit flags itself (the testlib
would otherwise start it open and unlimited). The JWT secret and the RSA and
EC key pairs are made in a temp folder when the script is imported. Waits
poll the server with a deadline; nothing sleeps and hopes.
"""

import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import jwt
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from parley_testlib import (FRAME_TIMEOUT_S, QUESTION, TERMINAL, case, check,
                            check_answer_63, check_eq, check_error, Failure,
                            fence, greeting, http_call, kind_specs, new_id,
                            parse_args, read_until, Reply, resource_fixtures,
                            run_of, run_suite, tag, wait_for)

HTTP_TIMEOUT_S = 10
WAIT_S = 10
ISSUER = "https://issuer.example"
AUDIENCE = "parley-test"
REALM = 'Bearer realm="parley"'
KEY_RE = re.compile(r"^pk_[0-9a-f]{16}_[0-9a-f]{64}$")
KINDS = ["personas", "modules", "conversations", "messages", "constitutions",
         "sysprompts", "flow-templates", "flow-configs", "flow-instances"]


# -- keys and tokens ----------------------------------------------------------

KEY_DIR = tempfile.mkdtemp(prefix="parley-security-")
SECRET = "s3cret-" + uuid.uuid4().hex
OTHER_SECRET = "other-" + uuid.uuid4().hex


def _write(name, data):
    path = os.path.join(KEY_DIR, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def _pem_private(key):
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_public(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)


# The secret file ends with a newline the server must strip.
SECRET_FILE = _write("hs256.secret", (SECRET + "\n").encode())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_PUBLIC_PEM = _pem_public(RSA_KEY)
EC_PUBLIC_PEM = _pem_public(EC_KEY)
RSA_PUBLIC_FILE = _write("rs256.pub.pem", RSA_PUBLIC_PEM)
EC_PUBLIC_FILE = _write("es256.pub.pem", EC_PUBLIC_PEM)


def claims(who, **extra):
    """Valid claims for user `who` (issuer and audience of the HS256
    servers); an extra claim given as None is left out."""
    now = int(time.time())
    body = {"sub": who, "iat": now, "exp": now + 600, "iss": ISSUER,
            "aud": AUDIENCE}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def hs_token(who, secret=SECRET, **extra):
    return jwt.encode(claims(who, **extra), secret, algorithm="HS256")


def rs_token(who, key=RSA_KEY, **extra):
    return jwt.encode(claims(who, **extra), _pem_private(key),
                      algorithm="RS256")


def es_token(who, key=EC_KEY, **extra):
    return jwt.encode(claims(who, **extra), _pem_private(key),
                      algorithm="ES256")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made_hs256(body, secret):
    """An HS256 token keyed with any bytes (PyJWT refuses a PEM as an HMAC
    secret, which is the point of the algorithm-confusion attack)."""
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(body).encode())
    signing = f"{head}.{payload}".encode()
    sig = hmac.new(secret, signing, hashlib.sha256).digest()
    return f"{head}.{payload}.{b64url(sig)}"


def alg_none(body):
    return jwt.encode(body, None, algorithm="none")


# -- HTTP ---------------------------------------------------------------------


def request(server, method, path, body=None, *, token=None, headers=None,
            raw=None):
    """One request on a fresh connection; `body` is sent as JSON, `raw` as
    is, `token` as `Authorization: Bearer`."""
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (
        None if body is None else json.dumps(body).encode())
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    return http_call(server.port, method, path, data, hdrs, HTTP_TIMEOUT_S)


def check_401(reply, what):
    err = check_error(reply, 401, "unauthorized", what=what)
    check_eq(reply.header("WWW-Authenticate"), REALM,
             f"{what}: WWW-Authenticate")
    return err


def check_ok(reply, status, what):
    check_eq(reply.status, status, f"{what}: status of {reply!r}")
    return reply.json if reply.body else None


class User:
    """Requests made with one credential."""

    def __init__(self, server, token):
        self.server = server
        self.token = token

    def req(self, method, path, body=None, **kw):
        return request(self.server, method, path, body, token=self.token, **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.req("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.req("DELETE", path, **kw)

    def create(self, kind, body):
        return check_ok(self.post(f"/api/{kind}", body), 201,
                        f"POST /api/{kind} {body}")

    def list_ids(self, kind):
        reply = self.get(f"/api/{kind}?limit=500")
        items = check_ok(reply, 200, f"list {kind}")
        check_eq(reply.header("X-Total-Count"), str(len(items)),
                 f"X-Total-Count of {kind}")
        return [x["id"] for x in items]

    def start_run(self, body, status=202, what="run_agent"):
        started = check_ok(self.post("/api/agent/run_agent", body), status,
                           what)
        check_eq(sorted(started), ["conversation_id", "run_id", "status"],
                 f"{what}: members")
        return started

    def status(self, run_id):
        return check_ok(self.get(f"/api/agent/{run_id}/status"), 200,
                        f"status of {run_id}")

    def wait_status(self, run_id, wanted, timeout=WAIT_S):
        last = {}

        def probe():
            last["body"] = self.status(run_id)
            return last["body"] if last["body"]["status"] in wanted else None
        try:
            return wait_for(f"run {run_id} in {wanted}", probe, timeout)
        except Failure as err:
            raise Failure(f"{err}; last status {last.get('body')}") from None

    def events(self, run_id):
        return check_ok(self.get(f"/api/agent/{run_id}/events?limit=1000"),
                        200, f"events of {run_id}")

    def messages(self, conversation_id):
        return check_ok(self.get(
            f"/api/messages/by-conversation/{conversation_id}?limit=500"),
            200, "messages by conversation")

    def cancel_quietly(self, run_id):
        reply = self.post(f"/api/agent/{run_id}/cancel")
        check(reply.status in (200, 409), f"cleanup cancel: {reply!r}")


def hs_user(server, who, **extra):
    return User(server, hs_token(who, **extra))


# -- WebSocket ----------------------------------------------------------------


def ws_connect(server, query="", subprotocols=None, headers=None):
    return websockets.connect(
        f"ws://127.0.0.1:{server.port}/ws/chat{query}", max_size=None,
        ping_interval=None, open_timeout=FRAME_TIMEOUT_S, close_timeout=5,
        subprotocols=subprotocols, extra_headers=headers)


def raw_upgrade(server, query="", headers=()):
    """A WebSocket upgrade on a raw socket; its status, lower-case headers
    and the start of its body."""
    key = base64.b64encode(os.urandom(16)).decode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    with socket.create_connection(("127.0.0.1", server.port),
                                  timeout=HTTP_TIMEOUT_S) as sock:
        sock.sendall(
            f"GET /ws/chat{query} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}"
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"{extra}\r\n".encode())
        res = http.client.HTTPResponse(sock, method="GET")
        res.begin()
        headers = {k.lower(): v for k, v in res.getheaders()}
        body = res.read() if res.status != 101 else b""
        return Reply(res.status, headers, body)


async def expect_error_frame(ws, code, type_, what, field=...):
    """The next connection `error` frame (frames of no run may not come
    first); it must have `code` and `type`."""
    frames = await read_until(ws, lambda f: f["type"] == "error",
                              f"{what}: an error frame")
    check_eq([f["type"] for f in frames[:-1]], [],
             f"{what}: frames before the error")
    data = frames[-1]["data"]
    check("chat_session_id" not in data and "seq" not in data,
          f"{what}: a run's error event, not a connection error: {data}")
    check_eq(data.get("code"), code, f"{what}: code of {data}")
    check_eq(data.get("type"), type_, f"{what}: type of {data}")
    if field is not ...:
        check_eq(data.get("field"), field, f"{what}: field of {data}")
    check(data.get("message"), f"{what}: no message in {data}")
    return data


def ahttp(fn, *args, **kw):
    return asyncio.to_thread(fn, *args, **kw)


# -- resources ----------------------------------------------------------------


def make_fixtures(user):
    return resource_fixtures(user.create)


def kind_bodies(fx):
    """Per kind: a full body and a replacement."""
    return {kind: spec[:2] for kind, spec in kind_specs(fx).items()}


# == 1. tokens ================================================================

GOOD_PATH = "/api/personas"


@case("hs")
def refused_tokens_get_401_with_www_authenticate(server):
    now = int(time.time())
    refused = {
        "no credentials": None,
        "garbage": "garbage",
        "three garbage parts": "abc.def.ghi",
        "empty bearer": "",
        "expired beyond the leeway": hs_token("alice", exp=now - 120),
        "not yet valid beyond the leeway": hs_token("alice", nbf=now + 120),
        "wrong signature": hs_token("alice", secret=OTHER_SECRET),
        "signed with the secret and its newline": hs_token(
            "alice", secret=SECRET + "\n"),
        "wrong issuer": hs_token("alice", iss="https://evil.example"),
        "no issuer": hs_token("alice", iss=None),
        "wrong audience": hs_token("alice", aud="someone-else"),
        "no audience": hs_token("alice", aud=None),
        "alg none": alg_none(claims("alice")),
        "alg none, signature of the real token": alg_none(
            claims("alice")) + hs_token("alice").rsplit(".", 1)[1],
        "no exp": hs_token("alice", exp=None),
        "no sub": hs_token("alice", sub=None),
        "empty sub": hs_token("alice", sub=""),
        "RS256 on the HS256 server": rs_token("alice"),
    }
    for what, token in refused.items():
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        check_401(request(server, "GET", GOOD_PATH, headers=headers), what)
    # A tampered payload under the real signature.
    good = hs_token("alice")
    head, _, sig = good.split(".")
    forged = f"{head}.{b64url(json.dumps(claims('root', admin=True)).encode())}.{sig}"
    check_401(request(server, "GET", GOOD_PATH, token=forged),
              "payload swapped under a real signature")
    # Accepted: a good token, an aud list naming us, exp and nbf within
    # the 30 s leeway, and the scheme in lower case.
    for what, token in {
            "good": good,
            "aud list": hs_token("alice", aud=["x", AUDIENCE]),
            "exp 10 s ago": hs_token("alice", exp=now - 10),
            "nbf in 10 s": hs_token("alice", nbf=now + 10)}.items():
        check_ok(request(server, "GET", GOOD_PATH, token=token), 200, what)
    check_ok(request(server, "GET", GOOD_PATH,
                     headers={"Authorization": f"bearer {good}"}), 200,
             "lower-case scheme")
    # ?token= is for upgrades and event streams, not for plain requests.
    check_401(request(server, "GET", f"{GOOD_PATH}?token={good}"),
              "?token= on a plain request")
    # Open routes need nothing.
    for path in ("/health", "/ready", "/openapi.json", "/docs"):
        reply = request(server, "GET", path)
        check(reply.status != 401 and reply.status < 500,
              f"open route {path}: {reply!r}")
    check_eq(request(server, "GET", "/health").status, 200, "/health")


@case("rs")
def rs256_server_refuses_algorithm_confusion(server):
    body = claims("alice")
    check_ok(request(server, "GET", GOOD_PATH, token=rs_token("alice")), 200,
             "a good RS256 token")
    stripped = RSA_PUBLIC_PEM.rstrip(b"\n")
    for what, token in {
            "HS256 keyed with the public key PEM":
                hand_made_hs256(body, RSA_PUBLIC_PEM),
            "HS256 keyed with the PEM without its newline":
                hand_made_hs256(body, stripped),
            "RS256 of another key": rs_token("alice", key=OTHER_RSA_KEY),
            "alg none": alg_none(body),
            "ES256": es_token("alice"),
            "expired": rs_token("alice", exp=int(time.time()) - 120),
            "no sub": rs_token("alice", sub=None)}.items():
        check_401(request(server, "GET", GOOD_PATH, token=token), what)


@case("es")
def es256_server_takes_only_its_key(server):
    check_ok(request(server, "GET", GOOD_PATH, token=es_token("alice")), 200,
             "a good ES256 token")
    body = claims("alice")
    for what, token in {
            "HS256 keyed with the public key PEM":
                hand_made_hs256(body, EC_PUBLIC_PEM),
            "HS256 keyed with the PEM without its newline":
                hand_made_hs256(body, EC_PUBLIC_PEM.rstrip(b"\n")),
            "ES256 of another key": es_token("alice", key=OTHER_EC_KEY),
            "RS256": rs_token("alice"),
            "alg none": alg_none(body),
            "no exp": es_token("alice", exp=None)}.items():
        check_401(request(server, "GET", GOOD_PATH, token=token), what)


# == 2. API keys ==============================================================


@case("hs")
def api_keys_made_listed_and_revoked(server):
    admin = hs_user(server, "root", admin=True)
    made = check_ok(admin.post("/api/keys", {"user": "carol", "admin": False}),
                    201, "POST /api/keys")
    check_eq(sorted(made), ["admin", "created_at", "id", "key", "user"],
             "members of a new key")
    check_eq((made["user"], made["admin"]), ("carol", False), "new key")
    check(KEY_RE.match(made["key"]), f"key shape {made['key']!r}")
    check(made["key"].startswith(f"pk_{made['id']}_"),
          f"key id {made['id']!r} vs key {made['key']!r}")
    carol = User(server, made["key"])
    persona = carol.create("personas", {"name": f"carol {tag()}"})
    check_eq(check_ok(carol.get(f"/api/personas/{persona['id']}"), 200,
                      "carol reads her persona"), persona, "carol's persona")
    # The key is carol's identity: a JWT for carol is the same user; the
    # admin is another user and does not see it.
    check(persona["id"] in hs_user(server, "carol").list_ids("personas"),
          "carol's JWT does not see the persona made with her key")
    check_error(admin.get(f"/api/personas/{persona['id']}"), 404,
                "not_found", what="the admin reads carol's persona")
    # Non-admins (by key, by JWT, by a JWT whose admin claim is a string).
    for who, user in [("carol's key", carol),
                      ("a JWT without admin", hs_user(server, "bob")),
                      ("admin: \"true\"", hs_user(server, "eve",
                                                  admin="true")),
                      ("admin: false", hs_user(server, "eve", admin=False))]:
        for method, path, body in [
                ("GET", "/api/keys", None),
                ("POST", "/api/keys", {"user": "mallory", "admin": True}),
                ("DELETE", f"/api/keys/{made['id']}", None),
                ("GET", "/connections", None),
                ("POST", "/broadcast", {"message": "hi"})]:
            check_error(user.req(method, path, body), 403, "forbidden",
                        what=f"{who}: {method} {path}")
    check_ok(admin.get("/connections"), 200, "admin /connections")
    check_ok(admin.post("/broadcast", {"message": "hi"}), 200,
             "admin /broadcast")
    # Listing: carol's key is there, no secret is.
    reply = admin.get("/api/keys")
    listed = check_ok(reply, 200, "GET /api/keys")
    mine = [k for k in listed if k["id"] == made["id"]]
    check_eq(mine, [{k: v for k, v in made.items() if k != "key"}],
             "carol's key in the list")
    check(all("key" not in k for k in listed), f"a secret in {listed}")
    check(made["key"].encode() not in reply.body
          and made["key"].split("_")[2].encode() not in reply.body,
          "the list holds carol's secret")
    # An admin key works on admin routes.
    root_key = check_ok(admin.post("/api/keys", {"user": "dave",
                                                 "admin": True}),
                        201, "an admin key")
    check_eq(root_key["admin"], True, "admin flag")
    check_ok(User(server, root_key["key"]).get("/api/keys"), 200,
             "the admin key lists keys")
    # Revoked: refused at once; revoking again is 404.
    reply = admin.delete(f"/api/keys/{made['id']}")
    check_eq((reply.status, reply.body), (204, b""), "DELETE /api/keys/{id}")
    check_401(carol.get("/api/personas"), "carol's revoked key")
    check(all(k["id"] != made["id"] for k in check_ok(
        admin.get("/api/keys"), 200, "list after revoke")),
        "the revoked key is still listed")
    check_error(admin.delete(f"/api/keys/{made['id']}"), 404, "not_found",
                what="revoke twice")
    # Made-up keys of the right shape; a real key's id with a wrong secret.
    check_401(request(server, "GET", "/api/personas",
                      token=f"pk_{os.urandom(8).hex()}_{os.urandom(32).hex()}"),
              "a made-up key")
    real_id = root_key["key"].split("_")[1]
    check_401(request(server, "GET", "/api/personas",
                      token=f"pk_{real_id}_{os.urandom(32).hex()}"),
              "a real key id with a made-up secret")
    check_ok(admin.delete(f"/api/keys/{root_key['id']}"), 204,
             "revoke the admin key")


# == 3. WebSocket credentials =================================================


@case("hs")
async def websocket_upgrade_needs_credentials(server):
    reply = await ahttp(raw_upgrade, server)
    check_401(reply, "upgrade without credentials")
    reply = await ahttp(raw_upgrade, server, "?token=garbage")
    check_401(reply, "upgrade with a garbage ?token=")
    reply = await ahttp(raw_upgrade, server, "", [(
        "Sec-WebSocket-Protocol", f"parley, bearer.{hs_token('x', exp=1)}")])
    check_401(reply, "upgrade with an expired subprotocol token")
    try:
        async with ws_connect(server):
            raise Failure("the upgrade without credentials was accepted")
    except websockets.exceptions.InvalidStatusCode as err:
        check_eq(err.status_code, 401, "websockets client status")
    token = hs_token("wendy")
    # ?token=: a working connection whose runs are wendy's.
    async with ws_connect(server, f"?token={token}") as ws:
        await greeting(ws)
        await ws.send(json.dumps({"type": "chat", "payload": {
            "message": QUESTION, "conversation_id": new_id()}}))
        frames = await read_until(ws, lambda f: f["type"] in TERMINAL,
                                  "the end of the run")
        run_id = frames[-1]["data"]["chat_session_id"]
        check_answer_63(run_of(frames, run_id), run_id, "run over ?token=")
    wendy, other = User(server, token), hs_user(server, "walter")
    check_eq(wendy.status(run_id)["status"], "complete", "wendy's run")
    check_error(other.get(f"/api/agent/{run_id}/status"), 404, "not_found",
                what="another user reads wendy's WebSocket run")
    # A bearer subprotocol: the answer names the other offered protocol.
    async with ws_connect(server, subprotocols=["parley",
                                                f"bearer.{token}"]) as ws:
        check_eq(ws.subprotocol, "parley", "negotiated subprotocol")
        await greeting(ws)
        check_eq(await fence(ws), [], "frames before the pong")
    reply = await ahttp(raw_upgrade, server, "", [(
        "Sec-WebSocket-Protocol", f"parley, bearer.{token}")])
    check_eq(reply.status, 101, "raw upgrade with a bearer subprotocol")
    check_eq(reply.header("Sec-WebSocket-Protocol"), "parley",
             "Sec-WebSocket-Protocol of the answer")
    # The Authorization header works on an upgrade too.
    async with ws_connect(server, headers={
            "Authorization": f"Bearer {token}"}) as ws:
        await greeting(ws)
    # An event stream route takes ?token= as well (EventSource cannot set
    # headers), whatever the Accept header says...
    reply = await ahttp(request, server, "GET",
                        f"/api/agent/{run_id}/stream?token={token}")
    check_eq(reply.status, 200, f"SSE with ?token=: {reply!r}")
    check(reply.header("Content-Type").startswith("text/event-stream"),
          f"SSE Content-Type {reply.header('Content-Type')}")
    check(b"event: done" in reply.body, "the stream has no done event")
    # ...and no other route does, even when asked for an event stream.
    check_401(await ahttp(request, server, "GET", f"/api/personas?token={token}",
                          headers={"Accept": "text/event-stream"}),
              "?token= on a route that is not a stream")


# == 4. the REST authorization matrix =========================================


def snapshot(user, objects, conversation_id, run_id):
    """Everything of `user`'s the matrix touches, as JSON."""
    state = {}
    for kind, oid in objects.items():
        state[kind] = check_ok(user.get(f"/api/{kind}/{oid}"), 200,
                               f"GET {kind}")
        state[f"list {kind}"] = sorted(user.list_ids(kind))
    state["messages"] = user.messages(conversation_id)
    state["status"] = user.status(run_id)
    state["events"] = user.events(run_id)
    return state


def same_error_as_missing(reply, missing, oid, missing_id, what):
    """`reply` (about `oid`) says what `missing` says about `missing_id`."""
    err = check_error(reply, 404, "not_found", what=what)
    want = missing.json["error"]
    check_eq({k: v.replace(oid, "ID") if isinstance(v, str) else v
              for k, v in err.items()},
             {k: v.replace(missing_id, "ID") if isinstance(v, str) else v
              for k, v in want.items()}, f"{what}: vs a missing id")


@case("hs")
def another_users_objects_answer_404_and_stay_unchanged(server):
    alice, bob = hs_user(server, "alice"), hs_user(server, "bob")
    afx = make_fixtures(alice)
    bfx = make_fixtures(bob)
    objects = {kind: alice.create(kind, full)["id"]
               for kind, (full, _) in kind_bodies(afx).items()}
    conv = objects["conversations"]
    started = alice.start_run({"query": QUESTION, "conversation_id": conv})
    run_id = started["run_id"]
    alice.wait_status(run_id, {"complete"})
    before = snapshot(alice, objects, conv, run_id)
    check_answer_63(before["events"], run_id, "alice's run")
    check_eq(len(before["messages"]), 2, "alice's messages")

    bob_bodies = kind_bodies(bfx)
    # Another user, and an admin (who is just another user here), are told
    # exactly what a missing id would tell them.
    admin = hs_user(server, "root", admin=True)
    for name, who in (("bob", bob), ("an admin", admin)):
        for kind, oid in objects.items():
            missing_id = new_id()
            replacement = bob_bodies[kind][1]
            for method, body in (("GET", None), ("PUT", replacement),
                                 ("DELETE", None)):
                missing = who.req(method, f"/api/{kind}/{missing_id}", body)
                check_error(missing, 404, "not_found",
                            what=f"{name} {method} a missing {kind}")
                same_error_as_missing(
                    who.req(method, f"/api/{kind}/{oid}", body),
                    missing, oid, missing_id,
                    f"{name} {method} alice's {kind}")
            listed = who.list_ids(kind)
            check(oid not in listed and not set(afx.values()) & set(listed),
                  f"{name}'s {kind} list shows alice's objects")
        check_eq(check_ok(who.get(f"/api/messages/by-conversation/{conv}"), 200,
                          f"{name}: messages of alice's conversation"), [],
                 f"{name}: messages of alice's conversation")
        check_eq(check_ok(who.get(
            f"/api/conversations/by-persona/{afx['persona']}"), 200,
            f"{name}: conversations of alice's persona"), [],
            f"{name}: conversations of alice's persona")
        check_error(who.delete(f"/api/conversations/{conv}/memories"), 404,
                    "not_found", what=f"{name} forgets alice's memories")
        for method, tail, headers in [
                ("GET", "status", None), ("GET", "events", None),
                ("GET", "stream", {"Accept": "text/event-stream"}),
                ("POST", "cancel", None)]:
            check_error(who.req(method, f"/api/agent/{run_id}/{tail}",
                                headers=headers), 404, "not_found",
                        what=f"{name}: {tail} of alice's run")
        check_error(who.post("/api/agent/run_agent", {
            "query": QUESTION, "conversation_id": conv}), 404, "not_found",
            what=f"{name} runs in alice's conversation")
        check_error(who.post("/api/agent/run_agent", {
            "query": QUESTION, "id": run_id}), 404, "not_found",
            what=f"{name} reuses alice's run id")
        check_error(who.post("/api/agent/run_agent", {"query": QUESTION},
                             headers={"Idempotency-Key": run_id}), 404,
                    "not_found", what=f"{name} reuses alice's run id as a key")
        check_error(who.post("/api/chat/send", {
            "message": QUESTION, "conversation_id": conv}), 404, "not_found",
            what=f"{name} chat/send into alice's conversation")
    # Images: alice's is hers (also by ?token=, as an <img> fetches it).
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    image = check_ok(alice.req("POST", "/api/personas/upload-image", raw=png,
                               headers={"Content-Type": "image/png"}),
                     201, "alice uploads an image")["url"]
    check_eq(request(server, "GET", f"{image}?token={alice.token}").status,
             200, "alice's image by ?token=")
    check_error(bob.get(image), 404, "not_found", what="bob reads alice's image")
    check_eq(request(server, "GET", image).status, 401, "an image needs a key")
    # References to alice's objects are refused.
    for kind, body, field in [
            ("conversations", {"persona_id": afx["persona"], "title": "x"},
             "persona_id"),
            ("messages", {"conversation_id": conv, "role": "user",
                          "content": "x"}, "conversation_id"),
            ("flow-templates", {"name": "x",
                                "constitution_id": afx["constitution"]},
             "constitution_id"),
            ("flow-templates", {"name": "x",
                                "sysprompt_id": afx["sysprompt"]},
             "sysprompt_id"),
            ("flow-configs", {"name": "x",
                              "flow_template_id": afx["template"]},
             "flow_template_id"),
            ("flow-instances", {"flow_config_id": afx["config"]},
             "flow_config_id"),
            ("flow-instances", {"flow_config_id": bfx["config"],
                                "conversation_id": conv},
             "conversation_id")]:
        check_error(bob.post(f"/api/{kind}", body), 422, "validation_failed",
                    field, f"bob's {kind} naming alice's {field}")
    check_error(bob.post("/api/agent/run_agent", {
        "query": QUESTION, "persona_id": afx["persona"]}), 422,
        "validation_failed", "persona_id", "bob runs with alice's persona")
    # Module names are unique per user.
    name = f"greeting_{tag()}"
    alice.create("modules", {"name": name, "content": "hi"})
    bob.create("modules", {"name": name, "content": "hello"})
    check_error(bob.post("/api/modules", {"name": name, "content": "x"}),
                409, "conflict", what="bob's second module of that name")
    # Alice's objects, messages, run and events are as they were.
    after = snapshot(alice, objects, conv, run_id)
    after = {k: v for k, v in after.items() if k != "list modules"}
    check_eq(after, {k: v for k, v in before.items() if k != "list modules"},
             "alice's state after bob's attempts")


# == 5. the WebSocket matrix ==================================================


@case("hs")
async def another_users_runs_over_websocket_are_not_found(server):
    alice, bob = hs_user(server, "alice2"), hs_user(server, "bob2")
    persona = await ahttp(alice.create, "personas", {"name": f"a {tag()}"})
    conv = (await ahttp(alice.create, "conversations",
                        {"persona_id": persona["id"], "title": "mine"}))["id"]
    async with ws_connect(server, f"?token={alice.token}") as aws, \
            ws_connect(server, subprotocols=[
                "parley", f"bearer.{bob.token}"]) as bws:
        await greeting(aws)
        await greeting(bws)
        await aws.send(json.dumps({"type": "chat", "payload": {
            "message": QUESTION, "conversation_id": conv}}))
        frames = await read_until(aws, lambda f: f["type"] ==
                                  "chat_session_start", "alice's run start")
        run_id = frames[-1]["data"]["chat_session_id"]
        try:
            await bws.send(json.dumps({"type": "chat", "payload": {
                "message": "mine now", "conversation_id": conv}}))
            await expect_error_frame(bws, "not_found", "chat",
                                     "bob chats into alice's conversation")
            await bws.send(json.dumps({"type": "subscribe", "payload": {
                "chat_session_id": run_id, "last_seq": 0}}))
            await expect_error_frame(bws, "not_found", "subscribe",
                                     "bob subscribes to alice's run",
                                     "chat_session_id")
            await bws.send(json.dumps({"type": "subscribe", "payload": {
                "conversation_id": conv, "last_seq": 0}}))
            await expect_error_frame(bws, "not_found", "subscribe",
                                     "bob subscribes to alice's "
                                     "conversation", "conversation_id")
            await bws.send(json.dumps({"type": "cancel", "payload": {
                "chat_session_id": run_id}}))
            await expect_error_frame(bws, "not_found", "cancel",
                                     "bob cancels alice's run",
                                     "chat_session_id")
            await bws.send(json.dumps({"type": "cancel",
                                       "session_id": run_id}))
            await expect_error_frame(bws, "not_found", "cancel",
                                     "bob cancels alice's run (session_id)")
            # Bob's attempts came while the run was going.
            status = (await ahttp(alice.status, run_id))["status"]
            check_eq(status, "running", "alice's run after bob's cancel")
            frames += await read_until(aws, lambda f: f["type"] in TERMINAL,
                                       "the end of alice's run")
            frames = run_of(frames, run_id)
            content = check_answer_63(frames, run_id, "alice's run")
            check_eq(await fence(bws), [], "frames bob got meanwhile")
            check_eq(await fence(aws), [], "alice's frames after done")
        finally:
            await ahttp(alice.cancel_quietly, run_id)
    check_eq(await ahttp(alice.events, run_id), list(frames),
             "alice's events vs her frames")
    messages = await ahttp(alice.messages, conv)
    check_eq([(m["role"], m["content"], m["run_id"]) for m in messages],
             [("user", QUESTION, run_id), ("assistant", content, run_id)],
             "alice's messages")
    got = check_ok(await ahttp(alice.get, f"/api/conversations/{conv}"), 200,
                   "alice's conversation")
    check_eq((got["persona_id"], got["title"]), (persona["id"], "mine"),
             "alice's conversation")


# == 6. --auth none only on loopback ==========================================


@case("hs")
def auth_none_refuses_a_public_listen_address(server):
    for listen in ("0.0.0.0:0", "[::]:0"):
        try:
            done = subprocess.run(
                [server.args[0], "--listen", listen, "--auth", "none",
                 "--log-level", "warn"], capture_output=True, text=True,
                timeout=10)
        except subprocess.TimeoutExpired:
            raise Failure(f"--auth none --listen {listen} kept running") \
                from None
        check_eq(done.returncode, 2, f"{listen}: exit code ({done.stderr!r})")
        check("loopback" in done.stderr, f"{listen}: stderr {done.stderr!r}")
        check("listening" not in done.stdout, f"{listen}: {done.stdout!r}")


# == 7. limits ================================================================


@case("rate")
def request_budget_is_per_user_with_retry_after(server):
    rita, sam = hs_user(server, "rita"), hs_user(server, "sam")
    replies = []
    for _ in range(10):
        replies.append(rita.get("/api/personas"))
        if replies[-1].status == 429:
            break
    check_eq([r.status for r in replies[:3]], [200, 200, 200],
             "rita's burst of 3")
    refused = replies[-1]
    check_error(refused, 429, "rate_limited", what="rita over her budget")
    check(len(replies) <= 5, f"{len(replies)} requests before the 429")
    retry = refused.header("Retry-After") or ""
    check(retry.isdigit() and int(retry) > 0, f"Retry-After {retry!r}")
    # Another user, and the open routes, are unaffected.
    check_ok(sam.get("/api/personas"), 200, "sam while rita is limited")
    check_eq(request(server, "GET", "/health").status, 200, "/health")
    check_401(request(server, "GET", "/api/personas"),
              "no credentials while rita is limited")
    # Served again once the budget refills (1 request/s).
    wait_for("rita served again",
             lambda: rita.get("/api/personas").status == 200,
             timeout=int(retry) + 3, interval=0.25)


@case("chat")
async def chat_budget_refuses_new_runs(server):
    chad, dana = hs_user(server, "chad"), hs_user(server, "dana")
    runs = [await ahttp(chad.start_run, {"query": QUESTION}) for _ in range(2)]
    third = await ahttp(chad.post, "/api/agent/run_agent",
                        {"query": QUESTION})
    check_error(third, 429, "rate_limited", what="chad's third run")
    retry = third.header("Retry-After")
    check(retry is not None and retry.isdigit() and int(retry) > 0,
          f"Retry-After of the chat budget: {retry!r}")
    async with ws_connect(server, f"?token={chad.token}") as ws:
        await greeting(ws)
        await ws.send(json.dumps({"type": "chat", "payload": {
            "message": QUESTION, "conversation_id": new_id()}}))
        await expect_error_frame(ws, "rate_limited", "chat",
                                 "chad's chat over the budget")
        check_eq(await fence(ws), [], "frames after the refusal")
    # Dana has a budget of her own.
    async with ws_connect(server, f"?token={dana.token}") as ws:
        await greeting(ws)
        await ws.send(json.dumps({"type": "chat", "payload": {
            "message": QUESTION, "conversation_id": new_id()}}))
        frames = await read_until(ws, lambda f: f["type"] in TERMINAL,
                                  "the end of dana's run")
        run_id = frames[-1]["data"]["chat_session_id"]
        check_answer_63(run_of(frames, run_id), run_id, "dana's run")
    for started in runs:
        await ahttp(chad.wait_status, started["run_id"], {"complete"})


@case("runs")
async def run_limit_refuses_while_runs_are_in_flight(server):
    rex, ria = hs_user(server, "rex"), hs_user(server, "ria")
    runs = []
    try:
        for _ in range(2):
            runs.append((rex, (await ahttp(rex.start_run, {
                "query": QUESTION}))["run_id"]))
        check_error(await ahttp(rex.post, "/api/agent/run_agent",
                                {"query": QUESTION}),
                    429, "too_many_runs", what="rex's third run (REST)")
        async with ws_connect(server, f"?token={rex.token}") as ws:
            await greeting(ws)
            await ws.send(json.dumps({"type": "chat", "payload": {
                "message": QUESTION, "conversation_id": new_id()}}))
            await expect_error_frame(ws, "too_many_runs", "chat",
                                     "rex's third run (WebSocket)")
        # The refusals came while both runs were in flight.
        for _, run_id in runs:
            status = (await ahttp(rex.status, run_id))["status"]
            check(status in ("queued", "running"),
                  f"rex's run {run_id} is {status}")
        # Ria is not limited by rex's runs.
        runs.append((ria, (await ahttp(ria.start_run, {
            "query": QUESTION}))["run_id"]))
        # One of rex's runs ends: a new one is taken.
        first = runs[0][1]
        check_eq(check_ok(await ahttp(rex.post, f"/api/agent/{first}/cancel"),
                          200, "cancel"),
                 {"run_id": first, "status": "cancelled"}, "cancel answer")
        runs.append((rex, (await ahttp(rex.start_run, {
            "query": QUESTION}, what="rex's run after a cancel"))["run_id"]))
        check_error(await ahttp(rex.post, "/api/agent/run_agent",
                                {"query": QUESTION}),
                    429, "too_many_runs", what="rex at the limit again")
    finally:
        for user, run_id in runs:
            await ahttp(user.cancel_quietly, run_id)
    for user, run_id in runs:
        await ahttp(user.wait_status, run_id, {"cancelled", "complete"})


# -- the runner ---------------------------------------------------------------

OPEN_LIMITS = ["--rate-limit-rps", "0", "--chat-limit-per-min", "0",
               "--max-runs-per-user", "0"]
HS = ["--auth", "on", "--jwt-alg", "HS256", "--jwt-secret-file", SECRET_FILE,
      "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE]

SERVER_ARGS = {
    # Runs of ~1.5 s: a run is still going while another user acts on it.
    "hs": HS + OPEN_LIMITS + ["--token-interval-ms", "100"],
    "rs": ["--auth", "on", "--jwt-alg", "RS256", "--jwt-public-key",
           RSA_PUBLIC_FILE] + OPEN_LIMITS,
    "es": ["--auth", "on", "--jwt-alg", "ES256", "--jwt-public-key",
           EC_PUBLIC_FILE] + OPEN_LIMITS,
    "rate": HS + ["--rate-limit-rps", "1", "--rate-limit-burst", "3",
                  "--chat-limit-per-min", "0", "--max-runs-per-user", "0"],
    "chat": HS + ["--rate-limit-rps", "0", "--chat-limit-per-min", "1",
                  "--chat-limit-burst", "2", "--max-runs-per-user", "0",
                  "--token-interval-ms", "0"],
    # Runs of a few seconds, so two are in flight while the third is tried.
    "runs": HS + ["--rate-limit-rps", "0", "--chat-limit-per-min", "0",
                  "--max-runs-per-user", "2", "--token-interval-ms", "200"],
}


def main():
    args = parse_args(__doc__, with_cases=True)
    try:
        return run_suite(args.parleyd, SERVER_ARGS, only=set(args.cases),
                         timed=True)
    finally:
        shutil.rmtree(KEY_DIR, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

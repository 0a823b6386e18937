#!/usr/bin/python3
"""parleyd on the Redis store (`--store redis`): what survives a restart of
parleyd, a `kill -9` mid-run, a Redis that dies and comes back, and two
deployments sharing one Redis under different `--redis-prefix`es.

Run as:  /usr/bin/python3 redis_test.py --parleyd PATH [CASE ...]

Self-contained: starts its own redis-server (/usr/bin/redis-server) on a
free loopback port, in a temporary directory, with AOF and
`appendfsync always` (so every acknowledged write survives a SIGKILL of
Redis), and kills it at the end. Each case starts (and restarts, or kills)
its own parleyd processes on port 0 with a key prefix of its own, so the
cases do not see each other's data; every parleyd stopped normally must
exit with 0 on SIGTERM, and every process the script started is gone when
it ends. Nothing sleeps to "let things settle": waits are for a reply, an
event or a condition, each with a deadline, and every HTTP request has a
client timeout, so a hanging server fails a case instead of the script.
"""

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from parley_testlib import (QUESTION, case, check, check_eq, Failure,
                            http_call, parse_args, run_cases, Server,
                            tag, wait_for)

HTTP_TIMEOUT_S = 5
WAIT_S = 15
REDIS_SERVER = "/usr/bin/redis-server"
REDIS_DEADLINE_S = 10


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- redis-server -------------------------------------------------------------


class Redis:
    """Our own redis-server: AOF on, fsync on every write, no RDB."""

    def __init__(self, root):
        self.dir = os.path.join(root, "redis")
        os.mkdir(self.dir)
        self.port = free_port()
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        """Starts it on `self.port` with `self.dir`; returns once it answers
        PING."""
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--appendonly", "yes",
             "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + REDIS_DEADLINE_S
        while not self.ping():
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server on {self.port} ended with "
                                   f"{self.proc.returncode}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server on {self.port} did not "
                                   f"answer PING within {REDIS_DEADLINE_S} s")
            time.sleep(0.02)

    def ping(self):
        """True when Redis answers PING with PONG (not LOADING...)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port),
                                          timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()


# -- parleyd processes ----------------------------------------------------------


class Env:
    """What every case gets: the Redis, and a way to start parleyd processes
    on it that are all stopped at the end."""

    def __init__(self, parleyd, root):
        self.parleyd = parleyd
        self.root = root
        self.redis = Redis(root)
        self.servers = []
        self.stray_failures = 0

    def start(self, prefix, *extra):
        upload = os.path.join(self.root, f"uploads-{tag()}")
        server = Server(self.parleyd, "--store", "redis", "--redis-url",
                        self.redis.url, "--redis-prefix", prefix,
                        "--upload-dir", upload, *extra)
        self.servers.append(server)
        return server

    def stop(self, server, what):
        """SIGTERM; the server must exit with 0."""
        code = server.stop()
        check_eq(code, 0, f"{what}: exit code on SIGTERM")

    @staticmethod
    def kill9(server):
        server.proc.kill()
        server.proc.wait()

    def close(self):
        """Stops whatever a case left running (a failure if it then does not
        exit with 0); kills Redis."""
        for server in self.servers:
            if server.proc.poll() is None:
                code = server.stop()
                if code != 0:
                    self.stray_failures += 1
                    print(f"FAIL parleyd {server.port} left by a case exited "
                          f"with {code} on SIGTERM", flush=True)
        self.redis.kill()


# -- HTTP ---------------------------------------------------------------------


def request(server, method, path, body=None, headers=None,
            timeout=HTTP_TIMEOUT_S):
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    began = time.monotonic()
    try:
        return http_call(server.port, method, path, data, hdrs, timeout)
    except socket.timeout:
        raise Failure(f"{method} {path}: no answer within {timeout} s "
                      f"(asked {time.monotonic() - began:.1f} s ago)") \
            from None


def get(server, path, **kw):
    return request(server, "GET", path, **kw)


def post(server, path, body=None, **kw):
    return request(server, "POST", path, body, **kw)


def check_ok(reply, status, what):
    check_eq(reply.status, status, f"{what}: status of {reply!r}")
    return reply.json


def check_error(reply, status, code, what):
    check_eq(reply.status, status, f"{what}: status of {reply!r}")
    body = reply.json
    err = body.get("error") if isinstance(body, dict) else None
    check(isinstance(err, dict), f"{what}: no error object in {body!r}")
    check_eq(err.get("code"), code, f"{what}: error code in {body!r}")
    return err


def create(server, kind, body):
    return check_ok(post(server, f"/api/{kind}", body), 201,
                    f"POST /api/{kind}")


def sse_events(server, run_id, last_event_id=None, timeout=WAIT_S):
    """The whole /stream of `run_id` (it must end): [(id, type, frame)]."""
    headers = {}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    conn = http.client.HTTPConnection("127.0.0.1", server.port,
                                      timeout=timeout)
    try:
        conn.request("GET", f"/api/agent/{run_id}/stream", headers=headers)
        res = conn.getresponse()
        check_eq(res.status, 200, f"stream of {run_id}")
        check((res.getheader("Content-Type") or "")
              .startswith("text/event-stream"), "stream Content-Type")
        events, fields, data = [], {}, []
        while True:
            try:
                line = res.readline()
            except socket.timeout:
                raise Failure(f"stream of {run_id}: no line within "
                              f"{timeout} s after {len(events)} events") \
                    from None
            if not line:
                check(not fields and not data, "stream ended mid-event")
                return events
            text = line.decode().rstrip("\n").rstrip("\r")
            if text == "":
                if data:
                    frame = json.loads("".join(data))
                    check_eq(fields.get("event"), frame["type"],
                             "SSE event vs frame type")
                    check_eq(fields.get("id"), str(frame["data"]["seq"]),
                             "SSE id vs seq")
                    events.append((frame["data"]["seq"], frame["type"],
                                   frame))
                fields, data = {}, []
            elif text.startswith(":"):
                continue
            else:
                name, _, value = text.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "data":
                    data.append(value)
                else:
                    fields[name] = value
    finally:
        conn.close()


def run_status(server, run_id):
    return check_ok(get(server, f"/api/agent/{run_id}/status"), 200,
                    f"status of {run_id}")


def wait_status(server, run_id, accept, what, timeout=WAIT_S):
    last = {}

    def probe():
        last["body"] = run_status(server, run_id)
        return last["body"] if accept(last["body"]) else None
    try:
        return wait_for(f"run {run_id}: {what}", probe, timeout)
    except Failure as err:
        raise Failure(f"{err}; last status {last.get('body')}") from None


def start_run(server, body):
    return check_ok(post(server, "/api/agent/run_agent", body), 202,
                    "run_agent")


# -- the cases ----------------------------------------------------------------


@case("env")
def restart_keeps_everything(env):
    prefix = f"t1-{tag()}:"
    first = env.start(prefix, "--token-interval-ms", "0")
    persona = create(first, "personas", {"name": f"Ada {tag()}",
                                         "template": "You are Ada."})
    module = create(first, "modules", {"name": f"tone_{tag()}",
                                       "content": "Answer briefly."})
    started = start_run(first, {"query": QUESTION,
                                "persona_id": persona["id"]})
    run_id, conv_id = started["run_id"], started["conversation_id"]
    before = wait_status(first, run_id,
                         lambda s: s["status"] not in ("queued", "running"),
                         "ended")
    check_eq(before["status"], "complete", "status before the restart")
    check("63" in (before.get("result") or ""),
          f"no 63 in the result {before.get('result')!r}")
    full = sse_events(first, run_id)
    check_eq([e[0] for e in full], list(range(1, before["last_seq"] + 1)),
             "seqs of the whole stream before the restart")
    check(before["last_seq"] > 6, f"too few events: {before['last_seq']}")
    messages_before = check_ok(
        get(first, f"/api/messages/by-conversation/{conv_id}"), 200,
        "messages before the restart")
    env.stop(first, "first parleyd")

    second = env.start(prefix, "--token-interval-ms", "0")
    check_eq(check_ok(get(second, f"/api/personas/{persona['id']}"), 200,
                      "persona after the restart"), persona,
             "persona after the restart")
    check_eq(check_ok(get(second, f"/api/modules/{module['id']}"), 200,
                      "module after the restart"), module,
             "module after the restart")
    conversation = check_ok(get(second, f"/api/conversations/{conv_id}"),
                            200, "conversation after the restart")
    check_eq(conversation["persona_id"], persona["id"],
             "conversation's persona_id")
    reply = get(second, f"/api/messages/by-conversation/{conv_id}")
    messages = check_ok(reply, 200, "messages after the restart")
    check_eq(reply.headers.get("x-total-count"), "2", "X-Total-Count")
    check_eq([m["role"] for m in messages], ["user", "assistant"],
             "message roles")
    check_eq(messages[0]["content"], QUESTION, "the user's message")
    check("63" in messages[1]["content"],
          f"no 63 in the answer {messages[1]['content']!r}")
    check_eq(messages, messages_before, "messages before vs after")
    after = run_status(second, run_id)
    check_eq(after["status"], "complete", "status after the restart")
    check("63" in (after.get("result") or ""),
          f"no 63 in the result after the restart {after!r}")
    check_eq(after, before, "run status before vs after the restart")

    resumed = sse_events(second, run_id, last_event_id=5)
    check_eq([e[0] for e in resumed], list(range(6, before["last_seq"] + 1)),
             "seqs after Last-Event-ID: 5")
    check_eq(resumed[-1][1], "done", "last event of the resumed stream")
    check_eq([e[2] for e in resumed], [e[2] for e in full[5:]],
             "resumed events vs the same events before the restart")
    env.stop(second, "second parleyd")


@case("env")
def kill_9_mid_run_ends_it_interrupted(env):
    prefix = f"t2-{tag()}:"
    first = env.start(prefix, "--token-interval-ms", "200")
    persona = create(first, "personas", {"name": f"Bo {tag()}"})
    run_id = start_run(first, {"query": QUESTION})["run_id"]
    seen = wait_status(first, run_id,
                       lambda s: s["status"] == "running"
                       and s["last_seq"] >= 2, "running with 2 events")
    env.kill9(first)

    second = env.start(prefix, "--token-interval-ms", "200")
    ended = wait_status(second, run_id,
                        lambda s: s["status"] != "running",
                        "no longer running")
    check_eq(ended["status"], "interrupted",
             f"status after the restart ({ended})")
    events = sse_events(second, run_id, last_event_id=0)
    check(events, "no events after the restart")
    seqs = [e[0] for e in events]
    # What the dead process had saved runs 1..K without a gap (events it
    # streamed in its last flush interval may be lost); then comes the
    # closing event, numbered past anything it can have streamed.
    saved = seqs[:-1]
    check_eq(saved, list(range(1, len(saved) + 1)), "saved seqs after restart")
    if saved:
        check_eq(events[0][1], "chat_session_start", "first event")
    check(f"events after seq {len(saved)} may not have been saved"
          in (ended.get("error") or ""),
          f"the status does not say where the saved log ends: {ended}")
    check_eq(events[-1][1], "error", f"last event ({[e[1] for e in events]})")
    check_eq(events[-1][2]["data"].get("code"), "interrupted",
             f"code of the closing error {events[-1][2]}")
    check_eq(sum(e[1] in ("done", "cancelled", "error") for e in events), 1,
             "terminal events")
    check_eq(ended["last_seq"], seqs[-1], "last_seq vs the last event")
    # A client that saw every event up to `seen` before the kill resumes
    # from there: it must get the closing `interrupted` event, so that event
    # cannot reuse a seq handed out before the kill.
    check(seqs[-1] > seen["last_seq"],
          f"the interrupted event has seq {seqs[-1]}, but seq "
          f"{seen['last_seq']} had already been sent before the kill")
    resumed = sse_events(second, run_id, last_event_id=seen["last_seq"])
    check_eq([(e[0], e[1]) for e in resumed], [(seqs[-1], "error")],
             f"stream resumed from Last-Event-ID {seen['last_seq']}")
    check_eq(check_ok(get(second, f"/api/personas/{persona['id']}"), 200,
                      "persona after kill -9"), persona,
             "persona after kill -9")
    env.stop(second, "parleyd after kill -9")


@case("env")
def each_node_ends_only_the_runs_it_left_in_flight(env):
    prefix = f"t8-{tag()}:"
    slow = ("--token-interval-ms", "300")
    node_a = env.start(prefix, "--node-id", "a", *slow)
    node_b = env.start(prefix, "--node-id", "b", *slow)
    runs = {}
    for name, node in (("a", node_a), ("b", node_b)):
        runs[name] = start_run(node, {"query": QUESTION})["run_id"]
        wait_status(node, runs[name], lambda r: r["status"] == "running",
                    f"node {name}'s run running")
    env.kill9(node_a)
    env.kill9(node_b)

    def stored_status(name):
        return redis_cli(env, "HGET", f"{prefix}run:{runs[name]}", "status")

    # b comes back: it ends its own run (which shows its recovery ran) and
    # leaves a's alone, since a may be alive and streaming it.
    again_b = env.start(prefix, "--node-id", "b")
    wait_for("b's run interrupted",
             lambda: stored_status("b") == "interrupted")
    check_eq(stored_status("a"), "running", "a's run after b's restart")
    again_a = env.start(prefix, "--node-id", "a")
    wait_for("a's run interrupted",
             lambda: stored_status("a") == "interrupted")
    env.stop(again_a, "node a")
    env.stop(again_b, "node b")


@case("env")
def redis_fault_and_recovery(env):
    prefix = f"t3-{tag()}:"
    server = env.start(prefix, "--token-interval-ms", "0")
    ready = check_ok(get(server, "/ready"), 200, "ready before")
    check_eq(ready, {"status": "ready", "storage": "up"}, "/ready body")
    persona = create(server, "personas", {"name": f"Cy {tag()}"})

    env.redis.kill()
    check(not env.redis.ping(), "redis still answers after SIGKILL")
    wait_for("/ready answers 503",
             lambda: get(server, "/ready").status == 503, timeout=5)
    check_error(get(server, "/ready"), 503, "storage_unavailable",
                "/ready with Redis down")
    began = time.monotonic()
    check_error(get(server, "/api/personas"), 503, "storage_unavailable",
                "GET /api/personas with Redis down")
    check_error(get(server, f"/api/personas/{persona['id']}"), 503,
                "storage_unavailable", "GET one persona with Redis down")
    check_error(post(server, "/api/personas", {"name": "lost"}), 503,
                "storage_unavailable", "POST with Redis down")
    check(time.monotonic() - began < 3 * HTTP_TIMEOUT_S, "slow answers")
    check_eq(check_ok(get(server, "/health"), 200, "/health"),
             {"status": "ok", "storage": "down"}, "/health body")

    env.redis.start()
    wait_for("/ready answers 200 again",
             lambda: get(server, "/ready").status == 200, timeout=10)
    check_eq(check_ok(get(server, f"/api/personas/{persona['id']}"), 200,
                      "persona after Redis came back"), persona,
             "persona after Redis came back")
    newer = create(server, "personas", {"name": f"Di {tag()}"})
    listed = check_ok(get(server, "/api/personas?limit=500"), 200,
                      "list after Redis came back")
    check_eq([p["id"] for p in listed], [persona["id"], newer["id"]],
             "personas after Redis came back (the POST made while it was "
             "down must not be there)")
    env.stop(server, "parleyd through the Redis fault")


@case("env")
def prefixes_isolate(env):
    one = env.start(f"t4a-{tag()}:", "--token-interval-ms", "0")
    two = env.start(f"t4b-{tag()}:", "--token-interval-ms", "0")
    p1 = create(one, "personas", {"name": f"One {tag()}"})
    p2 = create(two, "personas", {"name": f"Two {tag()}"})
    m1 = create(one, "modules", {"name": "shared_name", "content": "a"})
    # A unique name taken under one prefix is free under the other.
    m2 = create(two, "modules", {"name": "shared_name", "content": "b"})
    for server, mine, theirs, mod in ((one, p1, p2, m1), (two, p2, p1, m2)):
        reply = get(server, "/api/personas?limit=500")
        check_eq([p["id"] for p in check_ok(reply, 200, "list")],
                 [mine["id"]], f"personas seen on {server.port}")
        check_eq(reply.headers.get("x-total-count"), "1", "X-Total-Count")
        check_error(get(server, f"/api/personas/{theirs['id']}"), 404,
                    "not_found", "the other prefix's persona")
        check_eq([m["id"] for m in check_ok(
            get(server, "/api/modules?limit=500"), 200, "modules")],
            [mod["id"]], f"modules seen on {server.port}")
    env.stop(one, "parleyd of prefix a")
    env.stop(two, "parleyd of prefix b")


def redis_cli(env, *args):
    return subprocess.run(["redis-cli", "-u", env.redis.url, *args],
                          capture_output=True, text=True,
                          timeout=10).stdout.strip()


def events_of(server, run_id):
    return check_ok(get(server, f"/api/agent/{run_id}/events?limit=1000"),
                    200, f"events of {run_id}")


@case("env")
def a_run_streams_on_through_a_redis_outage_and_is_saved_after(env):
    prefix = f"t6-{tag()}:"
    server = env.start(prefix, "--token-interval-ms", "100")
    run_id = start_run(server, {"query": QUESTION})["run_id"]
    wait_for("the run streams", lambda: len(events_of(server, run_id)) >= 2)
    env.redis.kill()
    check(not env.redis.ping(), "redis still answers after SIGKILL")
    # The stream (replayed from the session, then live) goes on to the end
    # with Redis away.
    streamed = sse_events(server, run_id, timeout=20)
    check_eq(streamed[-1][1], "done", "last streamed event with Redis down")
    check_eq([seq for seq, _, _ in streamed],
             list(range(1, len(streamed) + 1)), "streamed seqs")
    env.redis.start()
    # The session writes what it could not, once Redis is back: a node that
    # only knows Redis (a fresh process) sees the whole run.
    wait_for("the run saved complete",
             lambda: redis_cli(env, "HGET", f"{prefix}run:{run_id}",
                               "status") == "complete", timeout=15)
    env.stop(server, "parleyd through the outage")
    fresh = env.start(prefix)
    saved = events_of(fresh, run_id)
    check_eq([f["data"]["seq"] for f in saved],
             [seq for seq, _, _ in streamed], "seqs saved")
    check_eq(saved, [frame for _, _, frame in streamed],
             "saved events are the streamed ones")
    check_eq(run_status(fresh, run_id)["status"], "complete", "status")
    env.stop(fresh, "parleyd after the outage")


@case("env")
def a_run_whose_history_expired_answers_410_not_a_partial_replay(env):
    prefix = f"t7-{tag()}:"
    server = env.start(prefix, "--token-interval-ms", "0")
    run_id = start_run(server, {"query": QUESTION})["run_id"]
    wait_status(server, run_id, lambda r: r["status"] == "complete",
                "complete")
    env.stop(server, "parleyd that ran it")
    # What --event-retention-h does when it runs out.
    check_eq(redis_cli(env, "DEL", f"{prefix}ev:{run_id}"), "1",
             "the event log was there")
    fresh = env.start(prefix)
    for path in (f"/api/agent/{run_id}/events",
                 f"/api/agent/{run_id}/stream"):
        check_error(get(fresh, path), 410, "gone", f"GET {path}")
    check_error(get(fresh, f"/api/agent/{run_id}/stream",
                    headers={"Last-Event-ID": "3"}), 410, "gone",
                "resume after seq 3")
    status = run_status(fresh, run_id)
    check_eq(status["status"], "complete", "status after expiry")
    check(status.get("result"), "the result is still there")
    env.stop(fresh, "parleyd after expiry")


def keys_cli(env, prefix, *args):
    """Runs `parleyd keys ...` against the test Redis; (exit code, stdout,
    stderr)."""
    proc = subprocess.run(
        [env.parleyd, "--store", "redis", "--redis-url", env.redis.url,
         "--redis-prefix", prefix, "keys", *args],
        capture_output=True, text=True, timeout=30)
    return proc.returncode, proc.stdout, proc.stderr


@case("env")
def api_keys_made_by_the_cli_work_on_every_node_until_revoked(env):
    prefix = f"t5-{tag()}:"
    code, out, err = keys_cli(env, prefix, "create", "--user", "dana")
    check_eq(code, 0, f"keys create exit code ({err.strip()})")
    key = out.strip()
    check(key.startswith("pk_") and len(key) == 3 + 16 + 1 + 64,
          f"a key is printed: {out!r}")
    key_id = key[3:19]
    # Only the hash is stored: the secret appears nowhere in Redis.
    dump = subprocess.run(["redis-cli", "-u", env.redis.url, "--scan",
                           "--pattern", f"{prefix}*"], capture_output=True,
                          text=True, timeout=10).stdout.split()
    for name in dump:
        value = subprocess.run(["redis-cli", "-u", env.redis.url, "--raw",
                                "DUMP", name], capture_output=True,
                               timeout=10).stdout
        check(key[20:].encode() not in value, f"secret stored in {name}")
    code, out, _ = keys_cli(env, prefix, "list")
    check(code == 0 and key_id in out and "dana" in out,
          f"keys list names the key: {out!r}")
    check(key[20:] not in out, "keys list shows no secret")
    auth = ["--auth", "on", "--keys-refresh-s", "1"]
    one = env.start(prefix, *auth)
    two = env.start(prefix, *auth)
    bearer = {"Authorization": f"Bearer {key}"}
    made = request(one, "POST", "/api/personas", {"name": "Dana's"}, bearer)
    check_eq(made.status, 201, f"a persona made with the key: {made.body!r}")
    seen = request(two, "GET", f"/api/personas/{made.json['id']}",
                   headers=bearer)
    check_eq(seen.status, 200, "the other node takes the key and shows it")
    check_eq(request(one, "GET", "/api/personas").status, 401,
             "no key: 401")
    code, _, err = keys_cli(env, prefix, "revoke", key_id)
    check_eq(code, 0, f"keys revoke exit code ({err.strip()})")
    # Both nodes reload the keys every second: refused within a few.
    for server in (one, two):
        deadline = time.monotonic() + 10
        while request(server, "GET", "/api/personas",
                      headers=bearer).status != 401:
            check(time.monotonic() < deadline,
                  f"revoked key still taken by {server.port} after 10 s")
            time.sleep(0.1)
    code, _, err = keys_cli(env, prefix, "revoke", key_id)
    check(code != 0 and "no api key" in err, f"revoking twice: {err!r}")
    env.stop(one, "first keyed parleyd")
    env.stop(two, "second keyed parleyd")


# -- the runner ---------------------------------------------------------------


def main():
    args = parse_args(__doc__, with_cases=True)
    root = tempfile.mkdtemp(prefix="parley-redis-")
    began = time.monotonic()
    env = None
    failures = 0
    try:
        env = Env(args.parleyd, root)
        failures += run_cases({"env": env}, set(args.cases), timed=True)
    finally:
        if env:
            env.close()
            failures += env.stray_failures
        shutil.rmtree(root, ignore_errors=True)
    verdict = f"{failures} failure(s)" if failures else "all passed"
    print(verdict, f"in {time.monotonic() - began:.1f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

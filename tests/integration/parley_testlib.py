"""What the Python integration scripts (websockets_test.py, rest_test.py)
share: the parleyd child process, the check helpers, the WebSocket client
helpers, the case registry and the runner.

Not a test itself (CTest runs only `*_test.py`); a script imports it with
`import parley_testlib` since its own folder is on sys.path.

The runner starts one parleyd per distinct command line on port 0, runs
every registered case (a coroutine case in an event loop of its own, bounded
by CASE_TIMEOUT_S), prints `PASS name` / `FAIL name`, stops the servers,
checks that each exited with 0 on SIGTERM, and gives exit code 1 on any
failure.
"""

import argparse
import asyncio
import http.client
import json
import os
import select
import subprocess
import sys
import time
import traceback
import uuid

import websockets

QUESTION = "What is (17+4)*3?"
STARTUP_DEADLINE_S = 20
STOP_DEADLINE_S = 15
FRAME_TIMEOUT_S = 10
CASE_TIMEOUT_S = 60
TERMINAL = ("done", "cancelled", "error")


class Failure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def check_eq(actual, expected, what):
    if actual != expected:
        raise Failure(f"{what}: expected {expected!r}, got {actual!r}")


# -- the server process -------------------------------------------------------


def new_id():
    return str(uuid.uuid4())


def tag():
    """A short random string, to keep names of one case apart."""
    return uuid.uuid4().hex[:10]


def wait_for(what, probe, timeout=10, interval=0.02):
    """`probe()`'s first truthy value; a Failure after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise Failure(f"{what}: not within {timeout} s")
        time.sleep(interval)


class Reply:
    """An HTTP answer: status, lower-case headers, body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    @property
    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise Failure(f"not JSON: {self.body[:300]!r}") from None

    def __repr__(self):
        return f"<{self.status} {self.body[:400]!r}>"


def http_call(port, method, path, data=None, headers=None, timeout=10):
    """One request on a fresh loopback connection; `data` is sent as is."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=dict(headers or {}))
        res = conn.getresponse()
        payload = res.read()
        return Reply(res.status, {k.lower(): v for k, v in res.getheaders()},
                     payload)
    finally:
        conn.close()


def check_error(reply, status, code, field=..., what="request"):
    """`reply` is the error `status` with body {"error":{code,message,field?}}."""
    check_eq(reply.status, status, f"{what}: status of {reply!r}")
    ctype = reply.header("Content-Type") or ""
    check(ctype.startswith("application/json"),
          f"{what}: error Content-Type {ctype!r}")
    body = reply.json
    err = body.get("error") if isinstance(body, dict) else None
    check(isinstance(err, dict), f"{what}: no error object in {body!r}")
    check_eq(err.get("code"), code, f"{what}: error code")
    check(isinstance(err.get("message"), str) and err["message"],
          f"{what}: no message in {err!r}")
    check(set(err) <= {"code", "message", "field"},
          f"{what}: unexpected members in {err!r}")
    if field is not ...:
        check_eq(err.get("field"), field, f"{what}: error field")
    return err


# -- resources ------------------------------------------------------------------


def resource_fixtures(create):
    """One object of each kind another kind points at, made with
    `create(kind, body)` (which returns the stored object)."""
    persona = create("personas", {"name": f"fixture {tag()}"})
    conversation = create("conversations",
                          {"persona_id": persona["id"], "title": "fixture"})
    constitution = create("constitutions",
                          {"name": "fixture", "content": "be kind"})
    sysprompt = create("sysprompts", {"name": "fixture", "content": "you help"})
    template = create("flow-templates",
                      {"name": "fixture", "constitution_id": constitution["id"],
                       "sysprompt_id": sysprompt["id"]})
    config = create("flow-configs",
                    {"name": "fixture", "flow_template_id": template["id"]})
    return {"persona": persona["id"], "conversation": conversation["id"],
            "constitution": constitution["id"], "sysprompt": sysprompt["id"],
            "template": template["id"], "config": config["id"]}


def kind_specs(fx):
    """Per kind: a full body, a replacement, the replacement's defaults, a
    field it does not know... and a body it refuses with 422 on `field`."""
    t = tag()
    return {
        "personas": (
            {"name": f"Ada {t}", "mode": "autonomous",
             "template": "You are ${persona.name}", "description": "d",
             "provider": "mock", "model": "m1",
             "provider_settings": {"temperature": 0.5, "tags": ["a"]},
             "image_url": "/api/personas/images/x.png", "is_active": False},
            {"name": f"Ada II {t}"},
            {"mode": "reactive", "is_active": True, "template": None,
             "description": None, "provider": None, "model": None,
             "provider_settings": None, "image_url": None},
            ({"mode": "reactive"}, "name")),
        "modules": (
            {"name": f"mod_{t}", "type": "advanced", "content": "hello",
             "trigger_pattern": "^hi( there)?$",
             "execution_context": "on_demand", "is_active": False},
            {"name": f"mod_{t}_b", "content": "bye"},
            {"type": "simple", "execution_context": "immediate",
             "is_active": True, "trigger_pattern": None},
            ({"name": "Not A Name"}, "name")),
        "conversations": (
            {"persona_id": fx["persona"], "title": "t",
             "provider_config": {"a": 1}, "agent_name": "researcher"},
            {"persona_id": fx["persona"], "title": "t2"},
            {"provider_config": None, "agent_name": None},
            ({"persona_id": new_id()}, "persona_id")),
        "messages": (
            {"conversation_id": fx["conversation"], "role": "user",
             "content": "hi", "thinking": "th", "token_count": 3,
             "extra_metadata": {"k": "v"}, "run_id": new_id()},
            {"conversation_id": fx["conversation"], "role": "assistant",
             "content": "yo"},
            {"thinking": None, "extra_metadata": None, "run_id": None},
            ({"conversation_id": fx["conversation"], "role": "robot",
              "content": "x"}, "role")),
        "constitutions": (
            {"name": "c", "content": "be nice"},
            {"name": "c2", "content": "be nicer"},
            {},
            ({"name": "c"}, "content")),
        "sysprompts": (
            {"name": "s", "content": "you are helpful"},
            {"name": "s2", "content": "you are terse"},
            {},
            ({"content": "x"}, "name")),
        "flow-templates": (
            {"name": "ft", "description": "d",
             "constitution_id": fx["constitution"],
             "sysprompt_id": fx["sysprompt"], "superego_enabled": True},
            {"name": "ft2"},
            {"superego_enabled": False, "constitution_id": None,
             "sysprompt_id": None, "description": None},
            ({"name": "ft", "constitution_id": new_id()}, "constitution_id")),
        "flow-configs": (
            {"name": "fc", "flow_template_id": fx["template"], "model": "m",
             "temperature": 0.7, "max_tokens": 100},
            {"name": "fc2", "temperature": 2},
            {"flow_template_id": None, "model": None, "max_tokens": None},
            ({"name": "fc", "temperature": 2.5}, "temperature")),
        "flow-instances": (
            {"flow_config_id": fx["config"], "name": "fi",
             "conversation_id": fx["conversation"]},
            {"flow_config_id": fx["config"]},
            {"name": None, "conversation_id": None},
            ({"flow_config_id": new_id()}, "flow_config_id")),
    }


class Server:
    """One parleyd child: started on 127.0.0.1:0, port read from stdout."""

    PREFIX = "parleyd listening on http://127.0.0.1:"

    # Tests about something else run without authentication and per-user
    # limits (security_test.py turns them on by passing these flags itself).
    OPEN_DEFAULTS = {"--auth": "none", "--rate-limit-rps": "0",
                     "--chat-limit-per-min": "0", "--max-runs-per-user": "0"}

    def __init__(self, parleyd, *extra):
        defaults = [x for flag, value in self.OPEN_DEFAULTS.items()
                    if flag not in extra for x in (flag, value)]
        self.args = [parleyd, "--listen", "127.0.0.1:0", "--log-level",
                     "warn", *defaults, *extra]
        # stderr is inherited: the server's log lands next to our output.
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE)
        self.port = self._read_port()

    def _read_port(self):
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        seen = b""
        fd = self.proc.stdout.fileno()
        while b"\n" not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"no listening line within "
                                   f"{STARTUP_DEADLINE_S} s from "
                                   f"{' '.join(self.args)}; got {seen!r}")
            chunk = os.read(fd, 256)
            if not chunk:
                code = self.proc.wait()
                raise RuntimeError(f"parleyd ended with {code} before "
                                   f"listening; stdout {seen!r}")
            seen += chunk
        line = seen.split(b"\n", 1)[0].decode()
        port = line[len(self.PREFIX):]
        if not line.startswith(self.PREFIX) or not port.isdigit():
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"unexpected first line {line!r}")
        return int(port)

    def ws_url(self, path):
        return f"ws://127.0.0.1:{self.port}{path}"

    def stop(self):
        """SIGTERM; returns the exit code (SIGKILL and None past the deadline)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


# -- run events ---------------------------------------------------------------


def run_of(frames, run_id):
    return [f for f in frames if f["data"].get("chat_session_id") == run_id]


def answer_of(frames):
    return "".join(f["data"]["content"] for f in frames
                   if f["type"] == "chunk" and not f["data"]["thinking"])


def check_run_frames(frames, run_id, last_type, what):
    """Seqs 1..N without gaps, one terminal event at the end."""
    check(frames, f"{what}: no events")
    check_eq([f["data"]["seq"] for f in frames],
             list(range(1, len(frames) + 1)), f"{what}: seqs")
    check(all(f["data"]["chat_session_id"] == run_id for f in frames),
          f"{what}: events of another run")
    types = [f["type"] for f in frames]
    check_eq(types[0], "chat_session_start", f"{what}: first event")
    check_eq(types[-1], last_type, f"{what}: last event")
    check_eq(sum(t in TERMINAL for t in types), 1, f"{what}: terminal events")


def check_answer_63(frames, run_id, what):
    """A whole run that ended in done, whose answer holds 63; the answer."""
    check_run_frames(frames, run_id, "done", what)
    content = frames[-1]["data"]["content"]
    check_eq(content, answer_of(frames), f"{what}: done.content vs chunks")
    check("63" in content, f"{what}: no 63 in {content!r}")
    return content


# -- WebSocket ----------------------------------------------------------------


class Frame(dict):
    """A received frame; `raw` is the text as sent."""
    raw = ""


def connect(server, path="/ws/chat"):
    # Client pings off: the server's heartbeat is not what these cases test.
    return websockets.connect(server.ws_url(path), max_size=None,
                              ping_interval=None,
                              open_timeout=FRAME_TIMEOUT_S, close_timeout=5)


async def recv_json(ws, timeout=FRAME_TIMEOUT_S):
    text = await asyncio.wait_for(ws.recv(), timeout)
    check(isinstance(text, str), f"expected a text frame, got {text!r}")
    parsed = json.loads(text)
    check(isinstance(parsed, dict) and "type" in parsed,
          f"not a frame: {text}")
    frame = Frame(parsed)
    frame.raw = text
    return frame


async def greeting(ws):
    """Reads connected + session_start; the session id."""
    first, second = await recv_json(ws), await recv_json(ws)
    check_eq([first["type"], second["type"]], ["connected", "session_start"],
             "greeting types")
    check_eq(first["data"], second["data"], "greeting data")
    return first["data"]["session_id"]


async def read_until(ws, stop, what, timeout=FRAME_TIMEOUT_S):
    """Frames up to and including the first one `stop` accepts."""
    frames = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            frame = await recv_json(ws, max(left, 0.001))
        except asyncio.TimeoutError:
            raise Failure(f"no {what} within {timeout} s; got "
                          f"{[f['type'] for f in frames]}") from None
        frames.append(frame)
        if stop(frame):
            return frames


def of_type(kind, run_id=None):
    """A `read_until` stop: a frame of `kind` (of run `run_id` if given)."""
    return lambda f: f["type"] == kind and (
        run_id is None or f["data"].get("chat_session_id") == run_id)


_fences = iter(range(1, 1 << 30))


async def fence(ws, member="payload"):
    """Frames the server sent before answering a fresh ping (its timestamp
    sent in `member`: "payload" or its synonym "data")."""
    token = f"fence-{next(_fences)}"
    await ws.send(json.dumps({"type": "ping", member: {"timestamp": token}}))
    frames = await read_until(
        ws, lambda f: f["type"] == "pong" and f["data"]["timestamp"] == token,
        f"pong {token}")
    return frames[:-1]


# -- the cases and the runner -------------------------------------------------

# (name, server key, function) in the order the script defines them.
CASES = []


def case(server_key):
    """Registers a case (plain or coroutine function) run against the server
    started with the arguments under `server_key`."""
    def register(fn):
        CASES.append((fn.__name__, server_key, fn))
        return fn
    return register


def parse_args(doc, with_cases=False):
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--parleyd", required=True, help="path to parleyd")
    if with_cases:
        parser.add_argument("cases", nargs="*", help="run only these cases")
    return parser.parse_args()


def run_case(fn, server):
    if asyncio.iscoroutinefunction(fn):
        async def bounded():
            await asyncio.wait_for(fn(server), CASE_TIMEOUT_S)
        asyncio.run(bounded())
    else:
        fn(server)


def run_cases(servers, only=(), timed=False):
    failures = 0
    for name, key, fn in CASES:
        if only and name not in only:
            continue
        began = time.monotonic()
        try:
            run_case(fn, servers[key])
            took = f" ({time.monotonic() - began:.1f} s)" if timed else ""
            print(f"PASS {name}{took}", flush=True)
        except Exception:  # a failing case must not stop the others
            failures += 1
            print(f"FAIL {name}", flush=True)
            traceback.print_exc()
            sys.stderr.flush()
    return failures


def stop_servers(servers):
    """Stops every server; the number that did not exit with 0."""
    failures = 0
    for key, server in servers.items():
        code = server.stop()
        if code == 0:
            print(f"PASS server '{key}' exited with 0 on SIGTERM")
        else:
            failures += 1
            print(f"FAIL server '{key}' exited with {code} on SIGTERM")
    return failures


def run_suite(parleyd, server_args, only=(), timed=False, prepare=None):
    """Starts a server per entry of `server_args` (key -> extra arguments;
    `prepare(key, server)` after each), runs the cases (only those named in
    `only`, if any), stops the servers and prints the verdict (with the time
    taken if `timed`); the exit code."""
    print(f"websockets {websockets.__version__}", flush=True)
    began = time.monotonic()
    servers = {}
    failures = 0
    try:
        for key, extra in server_args.items():
            servers[key] = Server(parleyd, *extra)
            if prepare:
                prepare(key, servers[key])
        failures += run_cases(servers, only, timed)
    finally:
        failures += stop_servers(servers)
    verdict = f"{failures} failure(s)" if failures else "all passed"
    if timed:
        print(verdict, f"in {time.monotonic() - began:.1f} s", flush=True)
    else:
        print(verdict, flush=True)
    return 1 if failures else 0

#!/usr/bin/python3
"""parleyd driven by another client implementation: Debian's python3-websockets
(10.x, asyncio API) and urllib, so the server is not only checked against the
Beast client it shares code with.

Run as:  /usr/bin/python3 websockets_test.py --parleyd PATH
(`python3` on PATH may be an interpreter without `websockets`.)

Self-contained: starts parleyd on port 0 (one process per distinct command
line), runs every case, prints `PASS name` / `FAIL name`, stops the servers,
checks that each exited with 0 on SIGTERM, and exits non-zero on any failure.
Nothing sleeps to "let things settle": waits are for a frame or a condition,
each with a deadline; "nothing more arrives" is proven with a ping fence.
"""

import argparse
import asyncio
import json
import os
import select
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request

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


class Server:
    """One parleyd child: started on 127.0.0.1:0, port read from stdout."""

    PREFIX = "parleyd listening on http://127.0.0.1:"

    def __init__(self, parleyd, *extra):
        self.args = [parleyd, "--listen", "127.0.0.1:0", "--log-level",
                     "warn", *extra]
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

    def url(self, path):
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


# -- clients ------------------------------------------------------------------


def http(server, method, path, body=None):
    """(status, parsed JSON body) of one request."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}",
                                 data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=FRAME_TIMEOUT_S) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def connect(server, path="/ws/chat"):
    # Client pings off: the server's heartbeat is not what these cases test.
    return websockets.connect(server.url(path), max_size=None,
                              ping_interval=None, open_timeout=FRAME_TIMEOUT_S,
                              close_timeout=5)


async def recv_json(ws, timeout=FRAME_TIMEOUT_S):
    text = await asyncio.wait_for(ws.recv(), timeout)
    check(isinstance(text, str), f"expected a text frame, got {text!r}")
    frame = json.loads(text)
    check(isinstance(frame, dict) and "type" in frame, f"not a frame: {text}")
    return frame


async def greeting(ws):
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
    return lambda f: f["type"] == kind and (
        run_id is None or f["data"].get("chat_session_id") == run_id)


_fences = iter(range(1, 1 << 30))


async def fence(ws):
    """Frames the server sent before answering a fresh ping."""
    token = f"fence-{next(_fences)}"
    await ws.send(json.dumps({"type": "ping", "payload": {"timestamp": token}}))
    frames = await read_until(
        ws, lambda f: f["type"] == "pong" and f["data"]["timestamp"] == token,
        f"pong {token}")
    return frames[:-1]


def run_of(frames, run_id):
    return [f for f in frames if f["data"].get("chat_session_id") == run_id]


def check_answer_63(run):
    types = [f["type"] for f in run]
    check_eq(types[0], "chat_session_start", "first event")
    check_eq(types[-1], "done", "last event")
    check_eq([f["data"]["seq"] for f in run], list(range(1, len(run) + 1)),
             "seqs")
    check_eq(sum(t in TERMINAL for t in types), 1, "terminal events")
    answer = "".join(f["data"]["content"] for f in run
                     if f["type"] == "chunk" and not f["data"]["thinking"])
    content = run[-1]["data"]["content"]
    check_eq(content, answer, "done.content vs the answer chunks")
    check("63" in content, f"no 63 in {content!r}")


def chat(message, **fields):
    return json.dumps({"type": "chat", "payload": {"message": message, **fields}})


# -- the cases ----------------------------------------------------------------

CASES = []


def case(server_key):
    def register(fn):
        CASES.append((fn.__name__, server_key, fn))
        return fn
    return register


@case("fast")
async def full_answer_contains_63(server):
    async with connect(server) as ws:
        session_id = await greeting(ws)
        await ws.send(chat(QUESTION))
        frames = await read_until(ws, of_type("done"), "done")
        run = run_of(frames, frames[-1]["data"]["chat_session_id"])
        check_eq(len(run), len(frames), "frames not of the run")
        check_answer_63(run)
        check_eq(run[0]["data"]["conversation_id"], session_id, "conversation")
        steps = [f["data"]["type"] for f in run if f["type"] == "reasoning_step"]
        check_eq(steps, ["thought", "action", "observation"], "reasoning steps")
        check_eq(await fence(ws), [], "frames after done")


@case("slow")
async def cancel_mid_stream_then_nothing(server):
    async with connect(server) as ws:
        await greeting(ws)
        await ws.send(chat(QUESTION))
        frames = await read_until(ws, of_type("chunk"), "a first chunk")
        run_id = frames[-1]["data"]["chat_session_id"]
        await ws.send(json.dumps({"type": "cancel", "payload": {}}))
        frames += await read_until(ws, of_type("cancelled", run_id), "cancelled")
        run = run_of(frames, run_id)
        check_eq(run[-1]["type"], "cancelled", "last event")
        check_eq([f["data"]["seq"] for f in run], list(range(1, len(run) + 1)),
                 "seqs")
        check("done" not in [f["type"] for f in run], "a cancelled run said done")
        check_eq(await fence(ws), [], "frames after cancelled")
        # A whole later run outlasts any step the agent had under way.
        await ws.send(chat(QUESTION))
        later = await read_until(ws, of_type("done"), "done of the next run")
        check_eq(run_of(later, run_id), [], "old run's frames in the next run")


@case("fast")
async def data_is_a_synonym_of_payload(server):
    async with connect(server) as ws:
        await greeting(ws)
        await ws.send(json.dumps({"type": "chat", "data": {"message": QUESTION}}))
        frames = await read_until(ws, of_type("done"), "done")
        check_answer_63(run_of(frames, frames[-1]["data"]["chat_session_id"]))
        await ws.send(json.dumps({"type": "ping", "data": {"timestamp": 5}}))
        pong = await recv_json(ws)
        check_eq((pong["type"], pong["data"]["timestamp"]), ("pong", 5), "pong")


@case("fast")
async def ping_pong_echoes_timestamps(server):
    async with connect(server) as ws:
        await greeting(ws)
        for stamp in [1712345678901, "t-1", {"a": [1, {"b": None}], "s": "x\"y"},
                      None]:
            before = int(time.time() * 1000)
            await ws.send(json.dumps({"type": "ping",
                                      "payload": {"timestamp": stamp}}))
            pong = await recv_json(ws)
            check_eq(pong["type"], "pong", "reply type")
            check_eq(pong["data"]["timestamp"], stamp, "echoed timestamp")
            server_time = pong["data"]["server_time"]
            check(isinstance(server_time, int)
                  and before - 1000 <= server_time <= time.time() * 1000 + 1000,
                  f"server_time {server_time} is not now")


@case("fast")
async def bad_frames_get_error_codes(server):
    async with connect(server) as ws:
        await greeting(ws)
        cases = [
            ('{"type":"chat","payload":{"message":', "bad_json", None),
            ("[" * 100 + "]" * 100, "bad_json", None),
            ('{"type":"chatt"}', "unknown_type", "type"),
            ('{"type":"chat","payload":{"message":42}}', "invalid_field",
             "message"),
            (b'{"type":"ping"}', "unsupported_frame", None),
        ]
        for sent, code, field in cases:
            await ws.send(sent)
            reply = await recv_json(ws)
            check_eq(reply["type"], "error", f"reply to {sent!r}")
            check_eq(reply["data"]["code"], code, f"code for {sent!r}")
            check_eq(reply["data"].get("field"), field, f"field for {sent!r}")
            check("chat_session_id" not in reply["data"],
                  "a connection error looks like a run event")
        await ws.send(chat(QUESTION))
        frames = await read_until(ws, of_type("done"), "done")
        check_answer_63(run_of(frames, frames[-1]["data"]["chat_session_id"]))


@case("small-frames")
async def oversized_frame_closes_1009(server):
    async with connect(server) as ws:
        await greeting(ws)
        await ws.send(json.dumps({"type": "ping",
                                  "payload": {"timestamp": "p" * 5000}}))
        try:
            frame = await asyncio.wait_for(ws.recv(), FRAME_TIMEOUT_S)
            raise Failure(f"expected a close, got {frame[:100]!r}")
        except websockets.ConnectionClosed:
            pass
        await asyncio.wait_for(ws.wait_closed(), FRAME_TIMEOUT_S)
        check_eq(ws.close_code, 1009, "close code")
    async with connect(server) as ws:  # the server goes on
        await greeting(ws)
        check_eq(await fence(ws), [], "frames on a new connection")


@case("fast")
async def connections_and_broadcast(server):
    status, body = http(server, "GET", "/health")
    check_eq((status, body), (200, {"status": "ok"}), "/health")
    async with connect(server, "/ws/chat/py-a") as a, \
            connect(server, "/ws/chat/py-b") as b:
        check_eq(await greeting(a), "py-a", "session id of a")
        check_eq(await greeting(b), "py-b", "session id of b")
        # Other cases' connections may still be leaving the registry.
        await wait_for_sessions(server, ["py-a", "py-b"])
        status, body = http(server, "POST", "/broadcast", {"message": "hello"})
        check_eq((status, body), (200, {"sent_to": 2}), "/broadcast")
        for ws in (a, b):
            frame = await recv_json(ws)
            check_eq((frame["type"], frame["data"]["message"]),
                     ("broadcast", "hello"), "broadcast frame")
    await wait_for_sessions(server, [])
    status, body = http(server, "GET", "/nope")
    check_eq((status, body["error"]["code"]), (404, "not_found"), "unknown path")
    status, body = http(server, "GET", "/ws/chat/bad%21id")
    check_eq((status, body["error"]["code"]), (400, "invalid_field"),
             "bad session id")


async def wait_for_sessions(server, session_ids, timeout=10):
    """Polls /connections until it lists exactly `session_ids`."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = await asyncio.to_thread(http, server, "GET",
                                               "/connections")
        if (status == 200 and sorted(body["session_ids"]) == sorted(session_ids)
                and body["active_connections"] == len(session_ids)):
            return body
        if time.monotonic() > deadline:
            raise Failure(f"/connections never listed {session_ids}: {body}")
        await asyncio.sleep(0.05)


# -- the runner ---------------------------------------------------------------

SERVER_ARGS = {
    "fast": ["--token-interval-ms", "1"],
    "slow": ["--token-interval-ms", "100"],
    "small-frames": ["--max-frame-bytes", "4096"],
}


async def run_cases(servers):
    failures = 0
    for name, key, fn in CASES:
        try:
            await asyncio.wait_for(fn(servers[key]), CASE_TIMEOUT_S)
            print(f"PASS {name}", flush=True)
        except Exception:  # a failing case must not stop the others
            failures += 1
            print(f"FAIL {name}", flush=True)
            traceback.print_exc()
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parleyd", required=True, help="path to parleyd")
    args = parser.parse_args()
    print(f"websockets {websockets.__version__}", flush=True)
    servers = {}
    failures = 0
    try:
        for key, extra in SERVER_ARGS.items():
            servers[key] = Server(args.parleyd, *extra)
        failures += asyncio.run(run_cases(servers))
    finally:
        for key, server in servers.items():
            code = server.stop()
            if code == 0:
                print(f"PASS server '{key}' exited with 0 on SIGTERM")
            else:
                failures += 1
                print(f"FAIL server '{key}' exited with {code} on SIGTERM")
    print(f"{failures} failure(s)" if failures else "all passed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

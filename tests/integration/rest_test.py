#!/usr/bin/python3
"""parleyd's REST API (and its parity with the WebSocket channel) driven by
plain standard-library clients: http.client for JSON and Server-Sent Events,
raw sockets where a client must hang up, python3-websockets (10.x) for the
WebSocket side, and node with @apidevtools/swagger-parser for the OpenAPI
document (validate_openapi.mjs, next to this file).

Run as:  /usr/bin/python3 rest_test.py --parleyd PATH [CASE ...]
(`python3` on PATH may be an interpreter without `websockets`; naming cases
runs only those.)

Self-contained: starts three parleyd processes on port 0 (fast runs with
CORS on; slow runs, so a run is still in flight when a case acts on it; very
slow runs with a 1 s SSE keep-alive and a 1 s chat timeout), runs every
case, prints `PASS name` / `FAIL name`, stops the servers, checks that each
exited with 0 on SIGTERM, and exits non-zero on any failure. Nothing sleeps
to "let things settle": waits are for a reply, an event or a condition, each
with a deadline. Every case leaves no run of its own in flight, so counts
(X-Total-Count) stay still between two requests of a case. The last two
cases hold every answer the others got against /openapi.json: its status
must be documented for the operation, and a JSON body must match the
documented schema (checked by validate_openapi.mjs with Ajv).
"""

import asyncio
import datetime
import http.client
import json
import os
import queue
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from parley_testlib import (FRAME_TIMEOUT_S, QUESTION, TERMINAL, answer_of,
                            case, check, check_answer_63, check_eq,
                            check_error, check_run_frames, connect, Failure,
                            fence, greeting, http_call, kind_specs, new_id,
                            of_type, parse_args, read_until, recv_json, Reply,
                            resource_fixtures, run_of, run_suite, tag,
                            wait_for)

HTTP_TIMEOUT_S = 10
WAIT_S = 10
HERE = os.path.dirname(os.path.abspath(__file__))
DOCS_DIR = os.path.normpath(os.path.join(
    HERE, "../../tools/node/node_modules/swagger-ui-dist"))
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$", re.I)
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?"
                    r"(Z|[+-]\d{2}:\d{2})$")
ORIGIN = "https://app.example"
OTHER_ORIGIN = "https://second.example"
FOREIGN_ORIGIN = "https://evil.example"
KINDS = ["personas", "modules", "conversations", "messages", "constitutions",
         "sysprompts", "flow-templates", "flow-configs", "flow-instances"]


def iso_ms(text):
    check(isinstance(text, str) and ISO_RE.match(text),
          f"not an ISO-8601 time: {text!r}")
    stamp = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(stamp.timestamp() * 1000)


# -- HTTP ---------------------------------------------------------------------

# (method, path, status) of every answer, and (method, path, status, body)
# of every JSON answer: the last cases check them against the OpenAPI
# document.
SEEN = []
SEEN_BODIES = []
SEEN_LOCK = threading.Lock()


def record(method, path, status, headers=None, body=None):
    path = path.split("?", 1)[0]
    with SEEN_LOCK:
        SEEN.append((method, path, status))
        ctype = (headers or {}).get("content-type", "")
        if body and ctype.startswith("application/json"):
            try:
                SEEN_BODIES.append((method, path, status, json.loads(body)))
            except ValueError:
                pass  # the case that made the request reports it


def request(server, method, path, body=None, *, raw=None, headers=None,
            content_type="application/json"):
    """One request on a fresh connection. `body` is sent as JSON, `raw` as
    is; `content_type=None` sends no Content-Type."""
    hdrs = dict(headers or {})
    data = raw if raw is not None else (
        None if body is None else json.dumps(body).encode())
    if data is not None and content_type is not None:
        hdrs.setdefault("Content-Type", content_type)
    reply = http_call(server.port, method, path, data, hdrs, HTTP_TIMEOUT_S)
    record(method, path, reply.status, reply.headers, reply.body)
    return reply


def post_oversized(server, path, content_type, size):
    """POST announcing a `size`-byte body. The server may refuse it from the
    headers alone (and close): the body is only sent if no answer comes
    first, so the answer is not lost to a reset."""
    sock = socket.create_connection(("127.0.0.1", server.port),
                                    timeout=HTTP_TIMEOUT_S)
    feeder = None
    try:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     f"Content-Type: {content_type}\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode())
        if not select.select([sock], [], [], 2)[0]:
            def feed():
                try:
                    sock.sendall(b"x" * size)
                except OSError:
                    pass  # refused part-way: the answer says why
            feeder = threading.Thread(target=feed, daemon=True)
            feeder.start()
        res = http.client.HTTPResponse(sock, method="POST")
        res.begin()
        payload = res.read()
        headers = {k.lower(): v for k, v in res.getheaders()}
        record("POST", path, res.status, headers, payload)
        return Reply(res.status, headers, payload)
    finally:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
        if feeder:
            feeder.join(HTTP_TIMEOUT_S)


def get(server, path, **kw):
    return request(server, "GET", path, **kw)


def post(server, path, body=None, **kw):
    return request(server, "POST", path, body, **kw)


def put(server, path, body=None, **kw):
    return request(server, "PUT", path, body, **kw)


def delete(server, path, **kw):
    return request(server, "DELETE", path, **kw)


def check_ok(reply, status, what):
    check_eq(reply.status, status, f"{what}: status of {reply!r}")
    return reply.json if reply.body else None


# -- Server-Sent Events -------------------------------------------------------


class SseStream:
    """One streaming request; events are read as they arrive."""

    def __init__(self, server, path, *, method="GET", body=None,
                 headers=None, timeout=FRAME_TIMEOUT_S):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port,
                                               timeout=timeout)
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=hdrs)
        self.res = self.conn.getresponse()
        self.status = self.res.status
        record(method, path, self.status)
        self.headers = {k.lower(): v for k, v in self.res.getheaders()}

    def header(self, name):
        return self.headers.get(name.lower())

    def next_item(self):
        """("event", {id, event, data, frame}) or ("comment", text), or None
        at the end of the stream."""
        fields, data = {}, []
        while True:
            try:
                line = self.res.readline()
            except socket.timeout:
                raise Failure("no SSE line within the read timeout") from None
            if not line:
                check(not fields and not data,
                      f"stream ended inside an event: {fields} {data}")
                return None
            check(line.endswith(b"\n"), f"unterminated SSE line {line!r}")
            text = line.decode().rstrip("\n").rstrip("\r")
            if text == "":
                if fields or data:
                    return "event", self._event(fields, data)
                continue
            if text.startswith(":"):
                if fields or data:
                    raise Failure(f"comment inside an event: {text!r}")
                return "comment", text
            name, _, value = text.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if name == "data":
                data.append(value)
            else:
                check(name not in fields, f"field {name} twice in an event")
                fields[name] = value

    @staticmethod
    def _event(fields, data):
        check_eq(sorted(fields), ["event", "id"], "SSE fields besides data")
        check_eq(len(data), 1, "data lines of an event")
        frame = json.loads(data[0])
        check_eq(fields["event"], frame["type"], "SSE event vs frame type")
        check_eq(fields["id"], str(frame["data"]["seq"]), "SSE id vs seq")
        return {"id": int(fields["id"]), "event": fields["event"],
                "data": data[0], "frame": frame}

    def next_event(self):
        while True:
            item = self.next_item()
            if item is None:
                return None
            if item[0] == "event":
                return item[1]

    def read_all(self):
        events = []
        while (ev := self.next_event()) is not None:
            events.append(ev)
        return events

    def close(self):
        self.res.close()
        self.conn.close()


def check_stream_head(stream, run_id, what):
    check_eq(stream.status, 200, f"{what}: status")
    ctype = stream.header("Content-Type") or ""
    check(ctype.startswith("text/event-stream"),
          f"{what}: Content-Type {ctype!r}")
    check_eq(stream.header("X-Run-Id"), run_id, f"{what}: X-Run-Id")


def sse_all(server, run_id, headers=None, query=""):
    """The whole /stream of `run_id` (which must end)."""
    stream = SseStream(server, f"/api/agent/{run_id}/stream{query}",
                       headers=headers)
    try:
        check_stream_head(stream, run_id, "stream")
        return stream.read_all()
    finally:
        stream.close()


class SseReader(threading.Thread):
    """Reads a stream in the background: events into `items`, then None."""

    def __init__(self, server, path):
        super().__init__(daemon=True)
        self.stream = SseStream(server, path)
        self.items = queue.Queue()

    def run(self):
        try:
            while (ev := self.stream.next_event()) is not None:
                self.items.put(ev)
            self.items.put(None)
        except Exception as err:  # handed to the case
            self.items.put(err)
        finally:
            self.stream.close()

    def next(self, timeout=FRAME_TIMEOUT_S):
        try:
            item = self.items.get(timeout=timeout)
        except queue.Empty:
            raise Failure(f"no SSE event within {timeout} s") from None
        if isinstance(item, Exception):
            raise item
        return item


# -- runs ---------------------------------------------------------------------


def start_run(server, body, status=202, headers=None, what="run_agent"):
    reply = post(server, "/api/agent/run_agent", body, headers=headers)
    started = check_ok(reply, status, what)
    check_eq(sorted(started), ["conversation_id", "run_id", "status"],
             f"{what}: members")
    check(UUID_RE.match(started["run_id"]), f"run_id {started['run_id']!r}")
    check_eq(reply.header("Location"),
             f"/api/agent/{started['run_id']}/status", f"{what}: Location")
    return started


def run_status(server, run_id):
    return check_ok(get(server, f"/api/agent/{run_id}/status"), 200,
                    f"status of {run_id}")


def wait_status(server, run_id, wanted, timeout=WAIT_S):
    last = {}

    def probe():
        last["body"] = run_status(server, run_id)
        return last["body"] if last["body"]["status"] in wanted else None
    try:
        return wait_for(f"run {run_id} in {wanted}", probe, timeout)
    except Failure as err:
        raise Failure(f"{err}; last status {last.get('body')}") from None


def run_events(server, run_id, query=""):
    return check_ok(get(server, f"/api/agent/{run_id}/events{query}"), 200,
                    f"events of {run_id}")


def wait_events(server, run_id, condition, what, timeout=WAIT_S):
    return wait_for(f"run {run_id}: {what}",
                    lambda: (lambda xs: xs if condition(xs) else None)(
                        run_events(server, run_id, "?limit=1000")), timeout)


def has_answer_chunk(frames):
    return any(f["type"] == "chunk" and not f["data"]["thinking"]
               for f in frames)


def cancel_quietly(server, run_id):
    """Ends a run a case left behind; a finished run is fine too."""
    reply = post(server, f"/api/agent/{run_id}/cancel")
    check(reply.status in (200, 409), f"cleanup cancel: {reply!r}")


def messages_of(server, conversation_id):
    reply = get(server, f"/api/messages/by-conversation/{conversation_id}"
                        "?limit=500")
    return check_ok(reply, 200, "messages by conversation")


# -- resources ----------------------------------------------------------------


def create(server, kind, body, what=None):
    reply = post(server, f"/api/{kind}", body)
    doc = check_ok(reply, 201, what or f"POST /api/{kind} {body}")
    check_eq(reply.header("Location"), f"/api/{kind}/{doc['id']}",
             f"POST /api/{kind}: Location")
    return doc


def total(server, kind, query=""):
    reply = get(server, f"/api/{kind}?limit=1{query}")
    check_ok(reply, 200, f"list {kind}")
    count = reply.header("X-Total-Count")
    check(count is not None and count.isdigit(),
          f"X-Total-Count of {kind}: {count!r}")
    return int(count)


def list_all(server, kind, query=""):
    items, offset = [], 0
    while True:
        reply = get(server, f"/api/{kind}?limit=500&offset={offset}{query}")
        page = check_ok(reply, 200, f"list {kind}")
        items += page
        offset += 500
        if offset >= int(reply.header("X-Total-Count")):
            return items


def fixtures(server):
    return resource_fixtures(lambda kind, body: create(server, kind, body))


# -- WebSocket ----------------------------------------------------------------


def ahttp(fn, *args, **kw):
    """A blocking client call off the event loop."""
    return asyncio.to_thread(fn, *args, **kw)


# -- the cases ----------------------------------------------------------------

# ---- system routes


@case("fast")
def health_connections_broadcast(server):
    reply = get(server, "/health")
    check_eq((reply.status, reply.json), (200, {"status": "ok", "storage": "up"}), "/health")
    check(reply.header("Content-Type").startswith("application/json"),
          "health Content-Type")
    body = check_ok(get(server, "/connections"), 200, "/connections")
    check_eq(sorted(body), ["active_connections", "session_ids"],
             "/connections members")
    check_eq(body["active_connections"], len(body["session_ids"]),
             "/connections count")
    reply = post(server, "/broadcast", {"message": "hello"})
    sent = check_ok(reply, 200, "/broadcast")
    check(isinstance(sent.get("sent_to"), int) and sent["sent_to"] >= 0,
          f"/broadcast answer {sent}")
    check_error(post(server, "/broadcast", {}), 400, "invalid_field",
                "message", "/broadcast without message")
    check_error(post(server, "/broadcast", raw=b'{"message":'), 400,
                "bad_json", what="/broadcast malformed")


@case("fast")
def unknown_paths_and_wrong_methods(server):
    err = check_error(get(server, "/api/nope"), 404, "not_found",
                      what="unknown path")
    check("/api/nope" in err["message"], f"message {err['message']!r}")
    check_error(get(server, "/api/personas/a/b/c"), 404, "not_found",
                what="too deep a path")
    for method, path, allowed in [
            ("DELETE", "/api/personas", {"GET", "POST"}),
            ("PATCH", f"/api/personas/{new_id()}", {"GET", "PUT", "DELETE"}),
            ("GET", "/api/agent/run_agent", {"POST"}),
            ("POST", f"/api/agent/{new_id()}/status", {"GET"}),
            ("PUT", "/api/templates/resolve", {"POST"})]:
        reply = request(server, method, path)
        check_eq(reply.status, 405, f"{method} {path}: status of {reply!r}")
        allow = {x.strip() for x in (reply.header("Allow") or "").split(",")}
        check_eq(allow, allowed | {"OPTIONS"}, f"{method} {path}: Allow")
        check("error" in reply.json, f"{method} {path}: body {reply!r}")
    reply = get(server, "/ws/chat")
    check_error(reply, 426, "invalid_field", what="/ws/chat without upgrade")


# ---- agent runs


@case("fast")
def run_agent_answers_63(server):
    started = start_run(server, {"query": QUESTION})
    run_id, conv = started["run_id"], started["conversation_id"]
    check_eq(started["status"], "started", "status")
    check(UUID_RE.match(conv), f"conversation_id {conv!r}")
    status = wait_status(server, run_id, {"complete"})
    check_eq(set(status), {"run_id", "status", "conversation_id", "agent_name",
                           "query", "created_at", "updated_at", "last_seq",
                           "result"}, "status members")
    check_eq((status["run_id"], status["conversation_id"],
              status["agent_name"], status["query"]),
             (run_id, conv, "researcher", QUESTION), "status fields")
    check(iso_ms(status["created_at"]) <= iso_ms(status["updated_at"]),
          f"created_at after updated_at: {status}")
    frames = run_events(server, run_id)
    content = check_answer_63(frames, run_id, "events")
    check_eq(status["last_seq"], len(frames), "last_seq")
    check_eq(status["result"], content, "result vs done.content")
    steps = [f["data"]["type"] for f in frames if f["type"] == "reasoning_step"]
    check_eq(steps, ["thought", "action", "observation"], "reasoning steps")
    messages = messages_of(server, conv)
    check_eq([(m["role"], m["content"], m["run_id"]) for m in messages],
             [("user", QUESTION, run_id), ("assistant", content, run_id)],
             "messages of the run")
    check_eq(messages[1]["id"], frames[-1]["data"]["message_id"],
             "done.message_id vs the saved message")
    check_ok(get(server, f"/api/conversations/{conv}"), 200,
             "the run's conversation")


@case("fast")
def run_agent_in_a_rest_conversation(server):
    persona = create(server, "personas", {"name": f"runner {tag()}"})
    conv = create(server, "conversations",
                  {"persona_id": persona["id"], "title": "kept"})
    started = start_run(server, {"query": QUESTION,
                                 "conversation_id": conv["id"],
                                 "persona_id": persona["id"],
                                 "agent_name": "researcher"})
    check_eq(started["conversation_id"], conv["id"], "conversation_id")
    status = wait_status(server, started["run_id"], {"complete"})
    check("63" in status["result"], f"result {status['result']!r}")
    after = check_ok(get(server, f"/api/conversations/{conv['id']}"), 200,
                     "conversation after the run")
    check_eq((after["persona_id"], after["title"]),
             (persona["id"], "kept"), "the run kept persona and title")
    check_eq([m["role"] for m in messages_of(server, conv["id"])],
             ["user", "assistant"], "messages")


@case("fast")
def run_agent_is_idempotent(server):
    run_id = new_id()
    first = start_run(server, {"query": QUESTION, "id": run_id})
    check_eq(first["run_id"], run_id, "run id from the body")
    again = start_run(server, {"query": QUESTION, "id": run_id}, status=200,
                      what="same id again")
    check_eq((again["run_id"], again["conversation_id"]),
             (run_id, first["conversation_id"]), "same run")
    wait_status(server, run_id, {"complete"})
    late = start_run(server, {"query": "something else", "id": run_id},
                     status=200, what="same id after the end")
    check_eq((late["run_id"], late["status"]), (run_id, "complete"),
             "finished run")
    check_eq(len(messages_of(server, first["conversation_id"])), 2,
             "messages: one run only")
    key = new_id()
    by_header = start_run(server, {"query": QUESTION},
                          headers={"Idempotency-Key": key})
    check_eq(by_header["run_id"], key, "run id from Idempotency-Key")
    again = start_run(server, {"query": QUESTION}, status=200,
                      headers={"Idempotency-Key": key},
                      what="same Idempotency-Key again")
    check_eq(again["run_id"], key, "same run by key")
    wait_status(server, key, {"complete"})
    check_eq(len(messages_of(server, by_header["conversation_id"])), 2,
             "messages: one run only (key)")
    body_id = new_id()
    both = start_run(server, {"query": QUESTION, "id": body_id},
                     headers={"Idempotency-Key": new_id()})
    check_eq(both["run_id"], body_id, "the body's id wins over the header")
    wait_status(server, body_id, {"complete"})
    check_error(post(server, "/api/agent/run_agent", {"query": QUESTION},
                     headers={"Idempotency-Key": "not-a-uuid"}),
                422, "validation_failed", "Idempotency-Key", "bad key")
    check_error(post(server, "/api/agent/run_agent",
                     {"query": QUESTION, "id": "not-a-uuid"}),
                422, "validation_failed", "id", "bad id")


@case("fast")
def run_agent_refuses_bad_requests(server):
    before = total(server, "conversations")
    path = "/api/agent/run_agent"
    good = json.dumps({"query": QUESTION}).encode()
    check_error(post(server, path, raw=good, content_type=None), 415,
                "unsupported_media_type", what="no Content-Type")
    check_error(post(server, path, raw=good, content_type="text/plain"), 415,
                "unsupported_media_type", what="text/plain")
    check_error(post(server, path, raw=b'{"query":'), 400, "bad_json",
                what="malformed JSON")
    check_error(post(server, path, raw=b'[]'), 400, "bad_json",
                what="not an object")
    for body, field in [
            ({}, "query"), ({"query": ""}, "query"), ({"query": 5}, "query"),
            ({"query": "x", "bogus": 1}, "bogus"),
            ({"query": "x", "multitask_strategy": "sometimes"},
             "multitask_strategy"),
            ({"query": "x", "enable_reasoning": "yes"}, "enable_reasoning"),
            ({"query": "x", "conversation_id": "math-1"}, "conversation_id"),
            ({"query": "x", "persona_id": new_id()}, "persona_id"),
            ({"query": "x", "agent_name": ""}, "agent_name")]:
        check_error(post(server, path, body), 422, "validation_failed", field,
                    f"run_agent {body}")
    check_error(post_oversized(server, path, "application/json",
                               (1 << 20) + 1), 413, "too_large",
                what="a body over 1 MiB")
    check_eq(total(server, "conversations"), before,
             "conversations after refused runs")
    # A parameter after the media type is still JSON.
    started = start_run(server, {"query": QUESTION}, headers={
        "Content-Type": "application/json; charset=utf-8"})
    wait_status(server, started["run_id"], {"complete"})


@case("fast")
def unknown_runs_and_bad_run_ids(server):
    rid = new_id()
    for method, tail in [("GET", "status"), ("GET", "stream"),
                         ("GET", "events"), ("POST", "cancel")]:
        check_error(request(server, method, f"/api/agent/{rid}/{tail}"), 404,
                    "not_found", what=f"{tail} of an unknown run")
        check_error(request(server, method, f"/api/agent/nope/{tail}"), 400,
                    "invalid_field", "run_id", f"{tail} of a non-UUID")


@case("fast")
def unknown_agent_fails_the_run(server):
    started = start_run(server, {"query": QUESTION, "agent_name": "poet"})
    status = wait_status(server, started["run_id"], {"failed"})
    check(isinstance(status.get("error"), str) and "poet" in status["error"],
          f"error of the run: {status}")
    events = sse_all(server, started["run_id"])
    frames = [e["frame"] for e in events]
    check_run_frames(frames, started["run_id"], "error", "failed run")
    check_eq(frames[-1]["data"]["code"], "not_found", "error code")


@case("fast")
def events_paging(server):
    started = start_run(server, {"query": QUESTION})
    run_id = started["run_id"]
    wait_status(server, run_id, {"complete"})
    frames = run_events(server, run_id)
    check_answer_63(frames, run_id, "events")
    n = len(frames)
    for query, want in [("?after=10", frames[10:]),
                        ("?after=3&limit=4", frames[3:7]),
                        ("?limit=1", frames[:1]),
                        (f"?after={n}", []), (f"?after={n + 50}", []),
                        ("?limit=1000", frames)]:
        check_eq(run_events(server, run_id, query), want, f"events{query}")
    for query, field in [("?limit=0", "limit"), ("?limit=1001", "limit"),
                         ("?limit=x", "limit"), ("?after=-1", "after"),
                         ("?after=1.5", "after")]:
        check_error(get(server, f"/api/agent/{run_id}/events{query}"), 422,
                    "validation_failed", field, f"events{query}")


@case("fast")
def sse_stream_of_a_finished_run(server):
    started = start_run(server, {"query": QUESTION})
    run_id = started["run_id"]
    wait_status(server, run_id, {"complete"})
    frames = run_events(server, run_id)
    events = sse_all(server, run_id)
    check_eq([e["frame"] for e in events], frames, "stream vs events")
    check_eq([e["id"] for e in events], list(range(1, len(frames) + 1)), "ids")
    check_eq([e["frame"] for e in sse_all(
        server, run_id, headers={"Last-Event-ID": "9"})], frames[9:],
        "resumed with Last-Event-ID")
    check_eq([e["frame"] for e in sse_all(
        server, run_id, query="?last_event_id=12")], frames[12:],
        "resumed with ?last_event_id")
    check_eq([e["frame"] for e in sse_all(
        server, run_id, headers={"Last-Event-ID": "9"},
        query="?last_event_id=12")], frames[9:], "the header wins")
    check_error(get(server, f"/api/agent/{run_id}/stream",
                    headers={"Last-Event-ID": "abc"}),
                422, "validation_failed", "Last-Event-ID", "bad Last-Event-ID")


@case("fast")
def sse_resume_after_the_last_event_ends(server):
    # An EventSource reconnects after the server closes the stream, sending
    # the terminal event's id: that stream must end (or be refused), not
    # idle forever. The same for an id past the end.
    started = start_run(server, {"query": QUESTION})
    run_id = started["run_id"]
    last = wait_status(server, run_id, {"complete"})["last_seq"]
    problems = []
    for seen in (last, last + 5):
        stream = SseStream(server, f"/api/agent/{run_id}/stream",
                           headers={"Last-Event-ID": str(seen)}, timeout=3)
        try:
            if stream.status == 200:
                check_stream_head(stream, run_id, f"Last-Event-ID {seen}")
                check_eq(stream.read_all(), [],
                         f"events after Last-Event-ID {seen}")
            else:
                check(stream.status in (204, 416, 422),
                      f"Last-Event-ID {seen}: status {stream.status}")
        except Failure as err:
            problems.append(f"GET /api/agent/{{run_id}}/stream with "
                            f"Last-Event-ID: {seen} of a finished run "
                            f"(last_seq {last}): {err}")
        finally:
            stream.close()
    check_eq(problems, [], "resuming at or past the end")


@case("fast")
def chat_after_deleting_its_conversation(server):
    conv = new_id()
    for _ in range(2):
        check_ok(post(server, "/api/chat/send",
                      {"message": QUESTION, "conversation_id": conv}), 200,
                 "chat/send")
        check_ok(get(server, f"/api/conversations/{conv}"), 200,
                 "the chat's conversation")
        reply = delete(server, f"/api/conversations/{conv}")
        check_eq(reply.status, 204, "delete the conversation")
        check_eq(messages_of(server, conv), [], "messages after the delete")


@case("fast")
def run_agent_streams_directly(server):
    conv = new_id()
    stream = SseStream(server, "/api/agent/run_agent?stream=true",
                       method="POST",
                       body={"query": QUESTION, "conversation_id": conv})
    try:
        run_id = stream.header("X-Run-Id") or ""
        check(UUID_RE.match(run_id), f"X-Run-Id {run_id!r}")
        check_stream_head(stream, run_id, "stream=true")
        frames = [e["frame"] for e in stream.read_all()]
    finally:
        stream.close()
    content = check_answer_63(frames, run_id, "stream=true")
    check_eq(frames[0]["data"]["conversation_id"], conv, "conversation")
    status = run_status(server, run_id)
    check_eq((status["status"], status["result"]), ("complete", content),
             "status after the stream")
    check_eq(run_events(server, run_id), frames, "events vs stream")
    given = new_id()
    stream = SseStream(server, "/api/agent/run_agent?stream=true",
                       method="POST", body={"query": QUESTION, "id": given})
    try:
        check_stream_head(stream, given, "stream=true with an id")
        check_answer_63([e["frame"] for e in stream.read_all()], given,
                        "stream=true with an id")
    finally:
        stream.close()
    check_error(post(server, "/api/agent/run_agent?stream=true", {}), 422,
                "validation_failed", "query", "stream=true without query")


@case("fast")
def reasoning_can_be_off(server):
    started = start_run(server, {"query": QUESTION,
                                 "enable_reasoning": False})
    wait_status(server, started["run_id"], {"complete"})
    frames = run_events(server, started["run_id"])
    check_answer_63(frames, started["run_id"], "no reasoning")
    types = [f["type"] for f in frames]
    check("reasoning_step" not in types, f"reasoning steps in {types}")
    check(not any(f["type"] == "chunk" and f["data"]["thinking"]
                  for f in frames), "a thinking chunk")
    check_eq(frames[-1]["data"]["thinking"], "", "done.thinking")
    check_eq(frames[1]["data"]["enable_reasoning"], False,
             "reasoning_start.enable_reasoning")
    check("reasoning_complete" in types and "stage_update" in types,
          f"stage events missing: {types}")


@case("fast")
def chat_send_answers(server):
    reply = post(server, "/api/chat/send", {"message": QUESTION})
    body = check_ok(reply, 200, "chat/send")
    check_eq(set(body), {"conversation_id", "message_id", "content",
                         "thinking", "usage", "stages", "duration_ms"},
             "chat/send members")
    check("63" in body["content"], f"content {body['content']!r}")
    check(body["thinking"], "no thinking")
    check(isinstance(body["usage"], dict)
          and body["usage"].get("total_tokens", 0) > 0, f"usage {body}")
    check(isinstance(body["duration_ms"], int) and body["duration_ms"] >= 0,
          f"duration_ms {body['duration_ms']!r}")
    check_eq([(s["stage"], s["status"]) for s in body["stages"]],
             [("reasoning", "started"), ("reasoning", "completed"),
              ("responding", "started"), ("responding", "completed")],
             "stages")
    messages = messages_of(server, body["conversation_id"])
    check_eq([(m["role"], m["content"]) for m in messages],
             [("user", QUESTION), ("assistant", body["content"])], "messages")
    check_eq(messages[1]["id"], body["message_id"], "message_id")
    conv = new_id()
    for _ in range(2):
        again = check_ok(post(server, "/api/chat/send",
                              {"message": QUESTION, "conversation_id": conv}),
                         200, "chat/send in my conversation")
        check_eq(again["conversation_id"], conv, "conversation_id")
    messages = messages_of(server, conv)
    check_eq([m["role"] for m in messages],
             ["user", "assistant", "user", "assistant"], "two exchanges")
    check(messages[0]["run_id"] != messages[2]["run_id"]
          and messages[0]["run_id"] == messages[1]["run_id"],
          f"run ids of the messages {messages}")


@case("fast")
def chat_send_refuses_bad_requests(server):
    path = "/api/chat/send"
    before = total(server, "conversations")
    good = json.dumps({"message": QUESTION}).encode()
    check_error(post(server, path, raw=good, content_type=None), 415,
                "unsupported_media_type", what="no Content-Type")
    check_error(post(server, path, raw=b"{"), 400, "bad_json",
                what="malformed JSON")
    for body, field in [({}, "message"), ({"message": ""}, "message"),
                        ({"message": "x", "nope": 1}, "nope"),
                        ({"message": "x", "persona_id": new_id()},
                         "persona_id"),
                        ({"message": "x", "conversation_id": "abc"},
                         "conversation_id"),
                        ({"message": "x", "provider_settings": "hot"},
                         "provider_settings")]:
        check_error(post(server, path, body), 422, "validation_failed", field,
                    f"chat/send {body}")
    check_eq(total(server, "conversations"), before,
             "conversations after refused chats")


@case("slow")
def chat_send_hang_up_cancels_the_run(server):
    conv = new_id()
    body = json.dumps({"message": QUESTION, "conversation_id": conv}).encode()
    sock = socket.create_connection(("127.0.0.1", server.port),
                                    timeout=HTTP_TIMEOUT_S)
    try:
        sock.sendall(b"POST /api/chat/send HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)
        question = wait_for("the chat's user message", lambda: [
            m for m in messages_of(server, conv) if m["role"] == "user"])
        run_id = question[0]["run_id"]
        check(UUID_RE.match(run_id or ""), f"run_id {run_id!r}")
        status = run_status(server, run_id)
        check(status["status"] in ("queued", "running"),
              f"the run ended before the hang-up: {status}")
        check(not select.select([sock], [], [], 0)[0],
              "an answer before the hang-up")
    finally:
        sock.close()
    status = wait_status(server, run_id, {"cancelled", "complete", "failed"})
    check_eq(status["status"], "cancelled", f"run after the hang-up {status}")
    check_run_frames(run_events(server, run_id), run_id, "cancelled",
                     "events of the abandoned run")


@case("idle")
def chat_send_times_out(server):
    conv = new_id()
    began = time.monotonic()
    reply = post(server, "/api/chat/send",
                 {"message": QUESTION, "conversation_id": conv})
    took = time.monotonic() - began
    run_id = None
    try:
        question = [m for m in messages_of(server, conv) if m["role"] == "user"]
        run_id = question[0]["run_id"] if question else None
        check(0.8 <= took < 5, f"answered after {took:.2f} s, not ~1 s")
        check(reply.status in (503, 504), f"status of {reply!r}")
        check("error" in reply.json, f"body of {reply!r}")
    finally:
        if run_id:
            cancel_quietly(server, run_id)


@case("slow")
def cancel_through_rest(server):
    started = start_run(server, {"query": QUESTION})
    run_id = started["run_id"]
    wait_events(server, run_id, lambda xs: len(xs) >= 3, "three events")
    path = f"/api/agent/{run_id}/cancel"
    check_error(post(server, f"{path}?action=later"), 422,
                "validation_failed", "action", "bad action")
    check_eq(check_ok(post(server, path), 200, "cancel"),
             {"run_id": run_id, "status": "cancelled"}, "cancel answer")
    for query in ("", "?action=interrupt", "?action=rollback"):
        check_eq(check_ok(post(server, path + query), 200, "cancel again"),
                 {"run_id": run_id, "status": "cancelled"},
                 f"cancel again{query}")
    status = run_status(server, run_id)
    frames = run_events(server, run_id)
    check_run_frames(frames, run_id, "cancelled", "cancelled run")
    check_eq((status["status"], status["last_seq"]),
             ("cancelled", len(frames)), "status")
    check_eq([e["frame"] for e in sse_all(server, run_id)], frames,
             "stream of a cancelled run")
    finished = start_run(server, {"query": QUESTION,
                                  "enable_reasoning": False})
    wait_status(server, finished["run_id"], {"complete"}, timeout=20)
    reply = post(server, f"/api/agent/{finished['run_id']}/cancel")
    check_error(reply, 409, "conflict", what="cancel of a finished run")
    check_eq(reply.json.get("status"), "complete", "status in the 409")


@case("slow")
def strategy_reject(server):
    first = start_run(server, {"query": QUESTION})
    conv = first["conversation_id"]
    try:
        second_id = new_id()
        for body in ({"query": QUESTION, "conversation_id": conv},
                     {"query": QUESTION, "conversation_id": conv,
                      "multitask_strategy": "reject", "id": second_id}):
            check_error(post(server, "/api/agent/run_agent", body), 409,
                        "conflict", what=f"second run {body}")
        check_error(get(server, f"/api/agent/{second_id}/status"), 404,
                    "not_found", what="the rejected run")
        check_error(post(server, "/api/agent/run_agent?stream=true",
                         {"query": QUESTION, "conversation_id": conv}),
                    409, "conflict", what="rejected with stream=true")
        check_eq(run_status(server, first["run_id"])["status"], "running",
                 "the first run goes on")
        check_eq([m["run_id"] for m in messages_of(server, conv)],
                 [first["run_id"]], "messages: only the first run's")
    finally:
        cancel_quietly(server, first["run_id"])


@case("slow")
def strategy_enqueue(server):
    first = start_run(server, {"query": QUESTION})
    conv = first["conversation_id"]
    second = start_run(server, {"query": QUESTION, "conversation_id": conv,
                                "multitask_strategy": "enqueue"})
    try:
        check_eq(second["status"], "queued", "second run")
        check_eq(run_status(server, second["run_id"])["status"], "queued",
                 "status of the queued run")
        check_eq(run_events(server, second["run_id"]), [],
                 "events of the queued run")
        done1 = wait_status(server, first["run_id"], {"complete", "cancelled"},
                            timeout=20)
        check_eq(done1["status"], "complete", "first run")
        done2 = wait_status(server, second["run_id"],
                            {"complete", "cancelled"}, timeout=20)
        check_eq(done2["status"], "complete", "second run")
        frames = run_events(server, second["run_id"])
        check_answer_63(frames, second["run_id"], "queued run")
        check(iso_ms(done1["updated_at"]) <= iso_ms(
            frames[0]["data"].get("timestamp", done2["updated_at"])),
            "the queued run started before the first ended")
        answers = [m["run_id"] for m in messages_of(server, conv)
                   if m["role"] == "assistant"]
        check_eq(answers, [first["run_id"], second["run_id"]],
                 "answers in order")
    finally:
        cancel_quietly(server, first["run_id"])
        cancel_quietly(server, second["run_id"])


def interrupted_by(server, strategy):
    """Starts a run, lets it stream part of its answer, then starts another
    on its conversation with `strategy`. The two runs' ids, conversation."""
    first = start_run(server, {"query": QUESTION})
    conv = first["conversation_id"]
    wait_events(server, first["run_id"], has_answer_chunk, "an answer chunk")
    second = start_run(server, {"query": QUESTION, "conversation_id": conv,
                                "multitask_strategy": strategy})
    return first["run_id"], second, conv


@case("slow")
def strategy_interrupt(server):
    first, second, conv = interrupted_by(server, "interrupt")
    try:
        check_eq(second["status"], "started", "the interrupting run")
        status = run_status(server, first)
        frames = run_events(server, first)
        check_run_frames(frames, first, "cancelled", "interrupted run")
        partial = answer_of(frames)
        check(partial, "the interrupted run had no answer chunk")
        check_eq((status["status"], status.get("result")),
                 ("cancelled", partial), "interrupted run keeps its answer")
        answers = [m for m in messages_of(server, conv)
                   if m["role"] == "assistant" and m["run_id"] == first]
        check_eq([m["content"] for m in answers], [partial],
                 "the partial answer's message")
        nxt = wait_events(server, second["run_id"], lambda xs: len(xs) >= 2,
                          "the new run's events")
        check_eq(nxt[0]["type"], "chat_session_start", "the new run starts")
    finally:
        cancel_quietly(server, second["run_id"])


@case("slow")
def strategy_rollback(server):
    first, second, conv = interrupted_by(server, "rollback")
    try:
        check_eq(second["status"], "started", "the rolling-back run")
        status = run_status(server, first)
        frames = run_events(server, first)
        check_run_frames(frames, first, "cancelled", "rolled-back run")
        check(answer_of(frames), "the rolled-back run had no answer chunk")
        check_eq((status["status"], status.get("result")), ("cancelled", ""),
                 "rolled-back run drops its answer")
        answers = [m for m in messages_of(server, conv)
                   if m["role"] == "assistant" and m["run_id"] == first]
        check_eq(answers, [], "assistant messages of the rolled-back run")
        wait_events(server, second["run_id"], lambda xs: len(xs) >= 2,
                    "the new run's events")
    finally:
        cancel_quietly(server, second["run_id"])


@case("fast")
def forgetting_memories_keeps_the_status(server):
    started = start_run(server, {"query": QUESTION})
    run_id, conv = started["run_id"], started["conversation_id"]
    status = wait_status(server, run_id, {"complete"})
    reply = delete(server, f"/api/conversations/{conv}/memories")
    check_eq((reply.status, reply.body), (204, b""), "forget")
    check_error(get(server, f"/api/agent/{run_id}/stream"), 410, "gone",
                what="stream after forgetting")
    check_error(get(server, f"/api/agent/{run_id}/events"), 410, "gone",
                what="events after forgetting")
    check_eq(run_status(server, run_id), status, "status after forgetting")
    check_eq(len(messages_of(server, conv)), 2, "messages stay")
    check_error(delete(server, f"/api/conversations/{new_id()}/memories"),
                404, "not_found", what="memories of an unknown conversation")
    check_error(delete(server, "/api/conversations/abc/memories"), 400,
                "invalid_field", "id", "memories of a non-UUID")


def in_parallel(calls):
    """Runs the thunks `calls` at once; their results (or exceptions)."""
    results = [None] * len(calls)
    gate = threading.Barrier(len(calls))

    def run(i):
        try:
            gate.wait(HTTP_TIMEOUT_S)
            results[i] = calls[i]()
        except Exception as err:  # reported by the case
            results[i] = err
    threads = [threading.Thread(target=run, args=(i,), daemon=True)
               for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HTTP_TIMEOUT_S * 2)
        check(not t.is_alive(), "a parallel request did not finish")
    for r in results:
        if isinstance(r, Exception):
            raise r
    return results


@case("slow")
def concurrent_starts_with_one_id(server):
    run_id = new_id()
    replies = in_parallel([lambda: post(server, "/api/agent/run_agent",
                                        {"query": QUESTION, "id": run_id})
                           for _ in range(6)])
    check_eq(sorted(r.status for r in replies), [200] * 5 + [202],
             f"statuses of six starts with one id: {replies}")
    check_eq({(r.json["run_id"], r.json["conversation_id"]) for r in replies},
             {(run_id, replies[0].json["conversation_id"])}, "one run")
    status = wait_status(server, run_id, {"complete", "cancelled", "failed"},
                         timeout=20)
    check_eq(status["status"], "complete", "the run")
    check_eq([m["role"] for m in messages_of(
        server, status["conversation_id"])], ["user", "assistant"],
        "messages: one run only")


@case("fast")
def concurrent_creates_with_one_module_name(server):
    name = f"race_{tag()}"
    replies = in_parallel([lambda: post(server, "/api/modules", {"name": name})
                           for _ in range(6)])
    check_eq(sorted(r.status for r in replies), [201] + [409] * 5,
             f"statuses of six creates with one name: {replies}")
    check_eq([m["name"] for m in list_all(server, "modules")].count(name), 1,
             "modules with that name")


@case("fast")
def connections_persist_across_errors(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port,
                                      timeout=HTTP_TIMEOUT_S)
    try:
        sock = None
        for method, path, body, ctype, status in [
                ("GET", "/health", None, None, 200),
                ("GET", "/api/nope", None, None, 404),
                ("POST", "/api/personas", b'{"name":', "application/json",
                 400),
                ("POST", "/api/personas", b'{"name":"x"}', "text/plain", 415),
                ("POST", "/api/personas", b'{"nom":"x"}', "application/json",
                 422),
                ("GET", f"/api/personas/{new_id()}", None, None, 404),
                ("POST", "/api/personas", b'{"name":"kept-alive"}',
                 "application/json", 201)]:
            headers = {"Content-Type": ctype} if ctype else {}
            conn.request(method, path, body=body, headers=headers)
            res = conn.getresponse()
            res.read()
            check_eq(res.status, status, f"{method} {path} {body}")
            check((res.getheader("Connection") or "").lower() != "close",
                  f"{method} {path} -> {status} closes the connection")
            check(sock is None or conn.sock is sock,
                  f"{method} {path}: the connection was not kept")
            sock = conn.sock
    finally:
        conn.close()


@case("slow")
def chat_send_replaced_by_a_newer_message(server):
    conv = new_id()
    first = {}

    def send_first():
        first["reply"] = post(server, "/api/chat/send",
                              {"message": QUESTION, "conversation_id": conv})
    thread = threading.Thread(target=send_first, daemon=True)
    thread.start()
    try:
        question = wait_for("the first chat's user message", lambda: [
            m for m in messages_of(server, conv) if m["role"] == "user"])
        first_run = question[0]["run_id"]
        wait_events(server, first_run, lambda xs: len(xs) >= 2,
                    "the first chat's events")
        second = post(server, "/api/chat/send",
                      {"message": QUESTION, "conversation_id": conv})
        body = check_ok(second, 200, "the newer message")
        check("63" in body["content"], f"content {body['content']!r}")
    finally:
        thread.join(HTTP_TIMEOUT_S)
    check(not thread.is_alive(), "the first chat/send never answered")
    check_error(first["reply"], 409, "conflict", what="the replaced chat")
    check_eq(run_status(server, first_run)["status"], "cancelled",
             "the replaced run")


@case("slow")
def cancel_keeps_or_rolls_back_the_answer(server):
    for action, keeps in (("interrupt", True), ("rollback", False)):
        started = start_run(server, {"query": QUESTION})
        run_id, conv = started["run_id"], started["conversation_id"]
        try:
            wait_events(server, run_id, has_answer_chunk, "an answer chunk")
            reply = post(server, f"/api/agent/{run_id}/cancel?action={action}")
            check_eq(check_ok(reply, 200, f"cancel {action}"),
                     {"run_id": run_id, "status": "cancelled"}, "cancel")
            frames = run_events(server, run_id)
            check_run_frames(frames, run_id, "cancelled", action)
            partial = answer_of(frames)
            check(partial, f"{action}: no answer chunk before cancelled")
            status = run_status(server, run_id)
            check_eq((status["status"], status.get("result")),
                     ("cancelled", partial if keeps else ""),
                     f"{action}: status")
            answers = [m["content"] for m in messages_of(server, conv)
                       if m["role"] == "assistant"]
            check_eq(answers, [partial] if keeps else [],
                     f"{action}: assistant messages")
        finally:
            cancel_quietly(server, run_id)


@case("slow")
def cancel_a_queued_run(server):
    first = start_run(server, {"query": QUESTION})
    conv = first["conversation_id"]
    second = start_run(server, {"query": QUESTION, "conversation_id": conv,
                                "multitask_strategy": "enqueue"})
    try:
        check_eq(second["status"], "queued", "second run")
        check_eq(check_ok(post(server, f"/api/agent/{second['run_id']}/cancel"),
                          200, "cancel the queued run"),
                 {"run_id": second["run_id"], "status": "cancelled"}, "cancel")
        check_eq(run_status(server, first["run_id"])["status"], "running",
                 "the first run goes on")
        wait_status(server, first["run_id"], {"complete"}, timeout=20)
        status = run_status(server, second["run_id"])
        check_eq((status["status"], status.get("result")), ("cancelled", ""),
                 "the queued run after the first ended")
        frames = run_events(server, second["run_id"])
        check(not [f for f in frames if f["type"] in ("chunk", "done")],
              f"the cancelled queued run ran: {frames}")
        answers = [m["run_id"] for m in messages_of(server, conv)
                   if m["role"] == "assistant"]
        check_eq(answers, [first["run_id"]], "answers")
        # docs/protocol.md: seq 1 is always chat_session_start.
        check_run_frames(frames, second["run_id"], "cancelled",
                         "events of the cancelled queued run")
    finally:
        cancel_quietly(server, first["run_id"])


@case("slow")
def stream_true_retry_with_the_same_id(server):
    # A client that lost its stream=true answer retries with the same id
    # (the point of idempotency): it must get the run's events, not an
    # empty stream that never ends.
    run_id = new_id()
    body = {"query": QUESTION, "id": run_id}
    first = SseStream(server, "/api/agent/run_agent?stream=true",
                      method="POST", body=body)
    try:
        check_stream_head(first, run_id, "first stream")
        check(first.next_event(), "no first event")
    finally:
        first.close()
    for when in ("in flight", "finished"):
        if when == "finished":
            wait_status(server, run_id, {"complete"}, timeout=20)
        retry = SseStream(server, "/api/agent/run_agent?stream=true",
                          method="POST", body=body, timeout=5)
        try:
            check_stream_head(retry, run_id, f"retry ({when})")
            frames = [e["frame"] for e in retry.read_all()]
        except Failure as err:
            raise Failure(f"POST /api/agent/run_agent?stream=true again with "
                          f"the id of a run {when}: {err}") from None
        finally:
            retry.close()
        check_answer_63(frames, run_id, f"retry ({when})")


# ---- WebSocket and REST together


def neutral(frame):
    """A frame without what differs between two runs of the same question."""
    data = {k: v for k, v in frame["data"].items()
            if k not in ("chat_session_id", "conversation_id", "message_id",
                         "timestamp", "time_us")}
    return {"type": frame["type"], "data": data}


@case("fast")
async def parity_websocket_and_sse(server):
    async with connect(server) as ws:
        await greeting(ws)
        await ws.send(json.dumps({"type": "chat", "data": {
            "message": QUESTION, "conversation_id": new_id()}}))
        frames = await read_until(ws, lambda f: f["type"] in TERMINAL,
                                  "the end of the run")
        ws_run = frames[-1]["data"]["chat_session_id"]
        frames = run_of(frames, ws_run)
        ws_content = check_answer_63(frames, ws_run, "WebSocket run")
        check_eq(await fence(ws, "data"), [], "frames after done")

    def over_sse():
        stream = SseStream(server, "/api/agent/run_agent?stream=true",
                           method="POST",
                           body={"query": QUESTION,
                                 "conversation_id": new_id()})
        try:
            check_eq(stream.status, 200, "stream=true")
            return stream.header("X-Run-Id"), stream.read_all()
        finally:
            stream.close()
    sse_run, events = await ahttp(over_sse)
    sse_frames = [e["frame"] for e in events]
    sse_content = check_answer_63(sse_frames, sse_run, "SSE run")
    check_eq([e["event"] for e in events], [f["type"] for f in frames],
             "event types, SSE vs WebSocket")
    check_eq([e["id"] for e in events], [f["data"]["seq"] for f in frames],
             "seqs, SSE vs WebSocket")
    check_eq(sse_content, ws_content, "answers")
    check_eq([neutral(f) for f in sse_frames], [neutral(f) for f in frames],
             "events, SSE vs WebSocket (ids and times aside)")
    # One run seen through both channels: byte for byte the same frames.
    replay = await ahttp(sse_all, server, ws_run)
    check_eq([e["data"] for e in replay], [f.raw for f in frames],
             "SSE data of the WebSocket run vs its frames")
    check_eq(await ahttp(run_events, server, ws_run), list(frames),
             "events of the WebSocket run")


@case("slow")
def sse_resume_without_gap_or_duplicate(server):
    started = start_run(server, {"query": QUESTION})
    run_id = started["run_id"]
    stream = SseStream(server, f"/api/agent/{run_id}/stream")
    try:
        check_stream_head(stream, run_id, "first stream")
        seen = [stream.next_event() for _ in range(4)]
    finally:
        stream.close()  # the client drops the connection mid-run
    check(all(seen), f"the first stream ended early: {seen}")
    last = seen[-1]["id"]
    check_eq(run_status(server, run_id)["status"], "running",
             "the run after the drop")
    rest = sse_all(server, run_id, headers={"Last-Event-ID": str(last)})
    check(rest and rest[0]["id"] == last + 1,
          f"resumed stream starts at {rest[0]['id'] if rest else None}")
    full = run_events(server, run_id)
    check_answer_63(full, run_id, "the run")
    union = [e["frame"] for e in seen + rest]
    check_eq([f["data"]["seq"] for f in union],
             list(range(1, len(full) + 1)), "seqs of both streams")
    check_eq(union, full, "both streams vs the events")
    tail = sse_all(server, run_id, query="?last_event_id=7")
    check_eq([e["frame"] for e in tail], full[7:], "resumed after the end")


@case("slow")
async def rest_cancel_while_websocket_watches(server):
    started = await ahttp(start_run, server, {"query": QUESTION})
    run_id = started["run_id"]
    try:
        async with connect(server) as ws:
            await greeting(ws)
            await ws.send(json.dumps({"type": "subscribe", "data": {
                "chat_session_id": run_id, "last_seq": 0}}))
            sub = await recv_json(ws)
            check_eq((sub["type"], sub["data"].get("chat_session_id")),
                     ("subscribed", run_id), "subscribe answer")
            frames = await read_until(
                ws, lambda f: f["data"].get("seq", 0) >= 3, "three events")
            reply = await ahttp(post, server, f"/api/agent/{run_id}/cancel")
            check_eq(check_ok(reply, 200, "cancel"),
                     {"run_id": run_id, "status": "cancelled"}, "cancel")
            frames += await read_until(ws, of_type("cancelled", run_id),
                                       "cancelled")
            check_eq(await fence(ws, "data"), [], "frames after cancelled")
        frames = run_of(frames, run_id)
        check_run_frames(frames, run_id, "cancelled", "WebSocket view")
        check_eq(await ahttp(run_events, server, run_id), list(frames),
                 "events vs the WebSocket view")
        check_eq((await ahttp(run_status, server, run_id))["status"],
                 "cancelled", "status")
    finally:
        await ahttp(cancel_quietly, server, run_id)


@case("slow")
async def websocket_cancel_while_sse_watches(server):
    started = await ahttp(start_run, server, {"query": QUESTION})
    run_id = started["run_id"]
    reader = SseReader(server, f"/api/agent/{run_id}/stream")
    try:
        check_stream_head(reader.stream, run_id, "stream")
        reader.start()
        events = [await ahttp(reader.next) for _ in range(2)]
        check(all(events), f"the stream ended early: {events}")
        async with connect(server) as ws:
            await greeting(ws)
            await ws.send(json.dumps({"type": "cancel", "data": {
                "chat_session_id": run_id}}))
            while (ev := await ahttp(reader.next)) is not None:
                events.append(ev)
            check_eq(await fence(ws, "data"), [], "WebSocket frames after cancel")
        frames = [e["frame"] for e in events]
        check_run_frames(frames, run_id, "cancelled", "SSE view")
        check_eq(await ahttp(run_events, server, run_id), frames,
                 "events vs the SSE view")
    finally:
        await ahttp(cancel_quietly, server, run_id)
        reader.stream.close()


@case("slow")
def dropping_sse_does_not_stop_the_run(server):
    started = start_run(server, {"query": QUESTION, "enable_reasoning": False})
    run_id = started["run_id"]
    stream = SseStream(server, f"/api/agent/{run_id}/stream")
    try:
        check(stream.next_event(), "no first event")
    finally:
        stream.close()
    status = wait_status(server, run_id, {"complete", "cancelled", "failed"},
                         timeout=20)
    check_eq(status["status"], "complete", "the run after the drop")


@case("idle")
def sse_keep_alive_when_idle(server):
    started = start_run(server, {"query": QUESTION})
    run_id = started["run_id"]
    stream = SseStream(server, f"/api/agent/{run_id}/stream")
    try:
        check_stream_head(stream, run_id, "stream")
        events = []
        while True:
            item = stream.next_item()
            check(item is not None, "the stream ended without a keep-alive")
            if item[0] == "comment":
                check_eq(item[1], ": keep-alive", "the comment")
                break
            events.append(item[1])
        check(post(server, f"/api/agent/{run_id}/cancel").status == 200,
              "cancel")
        events += stream.read_all()
    finally:
        stream.close()
        cancel_quietly(server, run_id)
    check_run_frames([e["frame"] for e in events], run_id, "cancelled",
                     "stream with a keep-alive")


# ---- resources


@case("fast")
def crud_of_every_kind(server):
    fx = fixtures(server)
    for kind, (full, replacement, defaults, _) in kind_specs(fx).items():
        what = kind
        before = total(server, kind)
        given_id = new_id()
        body = dict(full, id=given_id, created_at="2001-01-01T00:00:00.000Z",
                    updated_at="2001-01-01T00:00:00.000Z")
        doc = create(server, kind, body, f"POST /api/{kind}")
        check(UUID_RE.match(doc["id"]) and doc["id"] != given_id,
              f"{what}: id {doc['id']!r} (given {given_id})")
        created = iso_ms(doc["created_at"])
        check_eq(doc["updated_at"], doc["created_at"], f"{what}: updated_at")
        check(abs(created - time.time() * 1000) < 60_000,
              f"{what}: created_at {doc['created_at']} is not now")
        for name, value in full.items():
            check_eq(doc.get(name), value, f"{what}: {name}")
        check_eq(total(server, kind), before + 1, f"{what}: count")
        check_eq(check_ok(get(server, f"/api/{kind}/{doc['id']}"), 200,
                          f"GET {kind}"), doc, f"{what}: GET")
        listed = [x for x in list_all(server, kind) if x["id"] == doc["id"]]
        check_eq(listed, [doc], f"{what}: in the list")
        wait_for("the clock to pass created_at",
                 lambda: time.time() * 1000 > created + 2)
        newer = check_ok(put(server, f"/api/{kind}/{doc['id']}",
                             dict(replacement, id=new_id(),
                                  created_at="2001-01-01T00:00:00.000Z")),
                         200, f"PUT {kind}")
        check_eq((newer["id"], newer["created_at"]),
                 (doc["id"], doc["created_at"]), f"{what}: id and created_at")
        check(iso_ms(newer["updated_at"]) > created,
              f"{what}: updated_at {newer['updated_at']} not bumped")
        for name, value in list(replacement.items()) + list(defaults.items()):
            check_eq(newer.get(name), value, f"{what}: {name} after PUT")
        check_eq(set(newer), set(doc), f"{what}: members after PUT")
        check_eq(check_ok(get(server, f"/api/{kind}/{doc['id']}"), 200,
                          f"GET {kind}"), newer, f"{what}: GET after PUT")
        reply = delete(server, f"/api/{kind}/{doc['id']}")
        check_eq((reply.status, reply.body), (204, b""), f"{what}: DELETE")
        check_error(get(server, f"/api/{kind}/{doc['id']}"), 404, "not_found",
                    what=f"{what}: GET after DELETE")
        check_error(delete(server, f"/api/{kind}/{doc['id']}"), 404,
                    "not_found", what=f"{what}: DELETE again")
        check_error(put(server, f"/api/{kind}/{doc['id']}", replacement), 404,
                    "not_found", what=f"{what}: PUT after DELETE")
        check_eq(total(server, kind), before, f"{what}: count after DELETE")


@case("fast")
def crud_refuses_bad_requests(server):
    fx = fixtures(server)
    for kind, (full, replacement, _, (bad, field)) in kind_specs(fx).items():
        doc = create(server, kind, full)
        one = f"/api/{kind}/{doc['id']}"
        raw = json.dumps(full).encode()
        check_error(post(server, f"/api/{kind}", raw=raw, content_type=None),
                    415, "unsupported_media_type", what=f"POST {kind} no type")
        check_error(put(server, one, raw=raw, content_type="text/plain"),
                    415, "unsupported_media_type", what=f"PUT {kind} text")
        check_error(post(server, f"/api/{kind}", raw=b'{"name":'), 400,
                    "bad_json", what=f"POST {kind} malformed")
        check_error(put(server, one, raw=b"[1,"), 400, "bad_json",
                    what=f"PUT {kind} malformed")
        check_error(post(server, f"/api/{kind}", dict(full, colour="red")),
                    422, "validation_failed", "colour",
                    f"POST {kind} unknown field")
        check_error(post(server, f"/api/{kind}", bad), 422,
                    "validation_failed", field, f"POST {kind} {bad}")
        check_error(put(server, one, bad), 422, "validation_failed", field,
                    f"PUT {kind} {bad}")
        for method in ("GET", "PUT", "DELETE"):
            check_error(request(server, method, f"/api/{kind}/not-a-uuid",
                                replacement if method == "PUT" else None),
                        400, "invalid_field", "id", f"{method} {kind} bad id")
        check_error(get(server, f"/api/{kind}/{new_id()}"), 404, "not_found",
                    what=f"GET unknown {kind}")


@case("fast")
def nothing_half_written(server):
    fx = fixtures(server)
    specs = kind_specs(fx)
    for kind, (full, _, _, (bad, field)) in specs.items():
        before = total(server, kind)
        check_error(post(server, f"/api/{kind}", bad), 422,
                    "validation_failed", field, f"POST {kind} {bad}")
        check_error(post(server, f"/api/{kind}", dict(full, extra=1)), 422,
                    "validation_failed", "extra", f"POST {kind} extra")
        check_eq(total(server, kind), before, f"{kind}: count after 422")
        doc = create(server, kind, full)
        check_error(put(server, f"/api/{kind}/{doc['id']}", bad), 422,
                    "validation_failed", field, f"PUT {kind} {bad}")
        check_eq(check_ok(get(server, f"/api/{kind}/{doc['id']}"), 200,
                          f"GET {kind}"), doc, f"{kind}: after a failed PUT")
    name = f"dup_{tag()}"
    create(server, "modules", {"name": name})
    before = total(server, "modules")
    check_error(post(server, "/api/modules", {"name": name}), 409, "conflict",
                what="duplicate module")
    check_eq(total(server, "modules"), before, "modules after 409")
    convs = total(server, "conversations")
    msgs = total(server, "messages")
    check_error(post(server, "/api/agent/run_agent",
                     {"query": QUESTION, "persona_id": new_id()}),
                422, "validation_failed", "persona_id", "run, unknown persona")
    check_error(post(server, "/api/chat/send",
                     {"message": QUESTION, "persona_id": new_id()}),
                422, "validation_failed", "persona_id", "chat, unknown persona")
    check_eq((total(server, "conversations"), total(server, "messages")),
             (convs, msgs), "conversations and messages after refused runs")


@case("fast")
def paging_and_filters(server):
    t = tag()
    made = [create(server, "personas", {"name": f"page {t} {i}",
                                        "mode": mode, "is_active": active})
            for i, (mode, active) in enumerate([("reactive", True),
                                                ("autonomous", False),
                                                ("autonomous", True)])]
    everything = list_all(server, "personas")
    n = total(server, "personas")
    check_eq(len(everything), n, "X-Total-Count vs the list")
    check_eq([x["id"] for x in everything[-3:]], [x["id"] for x in made],
             "newest last")
    reply = get(server, "/api/personas")
    check_eq(len(reply.json), min(n, 50), "default page size")
    check_eq([x["id"] for x in check_ok(get(
        server, f"/api/personas?limit=2&offset={n - 3}"), 200, "page")],
        [x["id"] for x in made[:2]], "limit and offset")
    check_eq(check_ok(get(server, f"/api/personas?offset={n}"), 200,
                      "past the end"), [], "past the end")
    check_eq(len(check_ok(get(server, "/api/personas?limit=500"), 200,
                          "limit 500")), min(n, 500), "limit=500")
    for query, field in [("limit=0", "limit"), ("limit=501", "limit"),
                         ("limit=ten", "limit"), ("offset=-1", "offset"),
                         ("active=maybe", "active"),
                         ("active=true&mode=reactive", None)]:
        err = check_error(get(server, f"/api/personas?{query}"), 422,
                          "validation_failed", what=f"?{query}")
        if field:
            check_eq(err.get("field"), field, f"?{query}: field")
    for query, keep in [("active=false", lambda x: not x["is_active"]),
                        ("active=true", lambda x: x["is_active"]),
                        ("mode=autonomous",
                         lambda x: x["mode"] == "autonomous")]:
        want = [x["id"] for x in everything if keep(x)]
        got = list_all(server, "personas", "&" + query)
        check_eq([x["id"] for x in got], want, f"?{query}")
        check_eq(total(server, "personas", "&" + query), len(want),
                 f"X-Total-Count of ?{query}")
    modules = list_all(server, "modules", "&active=true")
    check(all(m["is_active"] for m in modules), "modules ?active=true")


@case("fast")
def persona_rules(server):
    doc = create(server, "personas", {"name": "plain"})
    check_eq((doc["mode"], doc["is_active"]), ("reactive", True), "defaults")
    create(server, "personas", {"name": "n" * 200})
    # Lengths count characters, as JSON Schema's maxLength does.
    wide = create(server, "personas", {"name": "\u00e9" * 199 + "\U0001f600"})
    check_eq(wide["name"], "\u00e9" * 199 + "\U0001f600", "non-ASCII name")
    for body, field in [({"name": ""}, "name"), ({"name": "n" * 201}, "name"),
                        ({}, "name"), ({"name": 7}, "name"),
                        ({"name": "x", "mode": "sleepy"}, "mode"),
                        ({"name": "x", "is_active": "yes"}, "is_active"),
                        ({"name": "x", "provider_settings": [1]},
                         "provider_settings"),
                        ({"name": "\u00e9" * 201}, "name")]:
        check_error(post(server, "/api/personas", body), 422,
                    "validation_failed", field, f"persona {body}")


@case("fast")
def module_rules(server):
    name = f"mod_{tag()}"
    first = create(server, "modules", {"name": name, "content": "a"})
    check_eq((first["type"], first["execution_context"], first["is_active"]),
             ("simple", "immediate", True), "defaults")
    check_error(post(server, "/api/modules", {"name": name}), 409, "conflict",
                what="duplicate name")
    other = create(server, "modules", {"name": name + "_2"})
    check_error(put(server, f"/api/modules/{other['id']}", {"name": name}),
                409, "conflict", what="renaming onto a taken name")
    check_ok(put(server, f"/api/modules/{first['id']}",
                 {"name": name, "content": "b"}), 200, "keeping its own name")
    check_ok(put(server, f"/api/modules/{first['id']}",
                 {"name": name + "_3"}), 200, "renaming")
    create(server, "modules", {"name": name}, "the old name after a rename")
    check_eq(delete(server, f"/api/modules/{other['id']}").status, 204,
             "delete")
    create(server, "modules", {"name": name + "_2"}, "a name after a delete")
    for body, field in [({"name": "Upper"}, "name"),
                        ({"name": "has-dash"}, "name"),
                        ({"name": "x_" + tag(), "trigger_pattern": "(["},
                         "trigger_pattern"),
                        ({"name": "x_" + tag(), "type": "fancy"}, "type"),
                        ({"name": "x_" + tag(), "execution_context": "later"},
                         "execution_context")]:
        check_error(post(server, "/api/modules", body), 422,
                    "validation_failed", field, f"module {body}")
    functions = check_ok(get(server, "/api/modules/plugin-functions"), 200,
                         "plugin functions")
    check(functions and all(set(f) == {"name", "description", "example"}
                            and all(isinstance(v, str) and v
                                    for v in f.values()) for f in functions),
          f"plugin functions {functions}")
    check("calculator" in [f["name"] for f in functions],
          f"no calculator in {functions}")


@case("fast")
def conversation_rules(server):
    p1 = create(server, "personas", {"name": "p1"})["id"]
    p2 = create(server, "personas", {"name": "p2"})["id"]
    for body in ({}, {"persona_id": new_id()}, {"persona_id": "abc"},
                 {"persona_id": p1, "title": "t" * 501}):
        field = "title" if "title" in body else "persona_id"
        check_error(post(server, "/api/conversations", body), 422,
                    "validation_failed", field, f"conversation {body}")
    c1 = create(server, "conversations", {"persona_id": p1})["id"]
    c2 = create(server, "conversations", {"persona_id": p1})["id"]
    create(server, "conversations", {"persona_id": p2})
    reply = get(server, f"/api/conversations/by-persona/{p1}")
    check_eq([x["id"] for x in check_ok(reply, 200, "by-persona")], [c1, c2],
             "conversations of p1")
    check_eq(reply.header("X-Total-Count"), "2", "X-Total-Count")
    check_eq(check_ok(get(server, f"/api/conversations/by-persona/{p1}"
                                  "?limit=1&offset=1"), 200,
                      "by-persona page")[0]["id"], c2, "by-persona paging")
    check_error(get(server, "/api/conversations/by-persona/abc"), 400,
                "invalid_field", "persona_id", "by-persona of a non-UUID")
    m1 = create(server, "messages", {"conversation_id": c1, "role": "user",
                                     "content": "one"})["id"]
    check_error(delete(server, f"/api/personas/{p1}"), 409, "conflict",
                what="deleting a persona in use")
    check_ok(get(server, f"/api/personas/{p1}"), 200, "the persona stays")
    check_eq(delete(server, f"/api/conversations/{c1}").status, 204,
             "delete conversation")
    check_error(get(server, f"/api/messages/{m1}"), 404, "not_found",
                what="a message of a deleted conversation")
    check_eq(messages_of(server, c1), [], "messages of a deleted conversation")
    check_eq(delete(server, f"/api/conversations/{c2}").status, 204,
             "delete the other conversation")
    check_eq(delete(server, f"/api/personas/{p1}").status, 204,
             "delete the persona once unused")


@case("fast")
def message_rules(server):
    persona = create(server, "personas", {"name": "m"})["id"]
    conv = create(server, "conversations", {"persona_id": persona})["id"]
    for body, field in [
            ({"role": "user", "content": "x"}, "conversation_id"),
            ({"conversation_id": new_id(), "role": "user", "content": "x"},
             "conversation_id"),
            ({"conversation_id": conv, "role": "robot", "content": "x"},
             "role"),
            ({"conversation_id": conv, "role": "user"}, "content"),
            ({"conversation_id": conv, "content": "x"}, "role"),
            ({"conversation_id": conv, "role": "user", "content": "x",
              "token_count": -1}, "token_count"),
            ({"conversation_id": conv, "role": "user", "content": "x",
              "run_id": "r-1"}, "run_id")]:
        check_error(post(server, "/api/messages", body), 422,
                    "validation_failed", field, f"message {body}")
    made = [create(server, "messages", {"conversation_id": conv, "role": role,
                                        "content": text})["id"]
            for role, text in [("system", "be brief"), ("user", "hi"),
                               ("assistant", "hello")]]
    reply = get(server, f"/api/messages/by-conversation/{conv}")
    check_eq([x["id"] for x in check_ok(reply, 200, "by-conversation")], made,
             "messages in order")
    check_eq(reply.header("X-Total-Count"), "3", "X-Total-Count")
    check_error(get(server, "/api/messages/by-conversation/abc"), 400,
                "invalid_field", "conversation_id", "by-conversation non-UUID")
    check_error(get(server, f"/api/messages/by-conversation/{conv}?limit=0"),
                422, "validation_failed", "limit", "by-conversation limit=0")


@case("fast")
def flow_references(server):
    fx = fixtures(server)
    for kind, body, field in [
            ("flow-templates", {"name": "x", "sysprompt_id": new_id()},
             "sysprompt_id"),
            ("flow-configs", {"name": "x", "flow_template_id": new_id()},
             "flow_template_id"),
            ("flow-configs", {"name": "x", "temperature": -0.1},
             "temperature"),
            ("flow-configs", {"name": "x", "temperature": "warm"},
             "temperature"),
            ("flow-configs", {"name": "x", "max_tokens": 0}, "max_tokens"),
            ("flow-instances", {"name": "x"}, "flow_config_id"),
            ("flow-instances", {"flow_config_id": fx["config"],
                                "conversation_id": new_id()},
             "conversation_id")]:
        check_error(post(server, f"/api/{kind}", body), 422,
                    "validation_failed", field, f"{kind} {body}")
    for temperature in (0, 2, 1.25):
        create(server, "flow-configs", {"name": "t", "temperature":
                                        temperature})
    instance = create(server, "flow-instances",
                      {"flow_config_id": fx["config"]})
    for kind, key in [("constitutions", "constitution"),
                      ("sysprompts", "sysprompt"),
                      ("flow-templates", "template"),
                      ("flow-configs", "config")]:
        check_error(delete(server, f"/api/{kind}/{fx[key]}"), 409, "conflict",
                    what=f"deleting a {kind} in use")
    check_eq(delete(server, f"/api/flow-instances/{instance['id']}").status,
             204, "delete the instance")


@case("fast")
def templates_resolve(server):
    t = tag()
    greet, sig, a, b, off = (f"greet_{t}", f"sig_{t}", f"a_{t}", f"b_{t}",
                             f"off_{t}")
    create(server, "modules", {"name": greet, "content": "Hello ${who}"})
    create(server, "modules", {"name": sig, "content": f"-- @{greet}"})
    create(server, "modules", {"name": a, "content": f"A @{b}"})
    create(server, "modules", {"name": b, "content": f"B @{a}"})
    create(server, "modules", {"name": off, "content": "x",
                               "is_active": False})
    persona = create(server, "personas", {"name": "Grace", "model": "m2"})

    def resolve(body):
        return post(server, "/api/templates/resolve", body)
    got = check_ok(resolve({"template": f"@{greet}!",
                            "variables": {"who": "World"}}), 200, "resolve")
    check_eq(got, {"resolved": "Hello World!", "modules_used": [greet]},
             "a module and a variable")
    got = check_ok(resolve({"template": f"@{sig} / @{sig}",
                            "variables": {"who": "you"}}), 200, "resolve")
    check_eq(got, {"resolved": "-- Hello you / -- Hello you",
                   "modules_used": [sig, greet]}, "modules in modules")
    got = check_ok(resolve({"template": "I am ${persona.name} (${persona.model}"
                                        "), n=${n} b=${b}",
                            "persona_id": persona["id"],
                            "variables": {"n": 3, "b": True}}), 200, "resolve")
    check_eq(got["resolved"], "I am Grace (m2), n=3 b=true", "persona fields")
    got = check_ok(resolve({"template": f"mail me: x@{greet} costs $5 ${{}}"}),
                   200, "resolve")
    check_eq(got, {"resolved": f"mail me: x@{greet} costs $5 ${{}}",
                   "modules_used": []}, "text that only looks like references")
    check_eq(check_ok(resolve({"template": ""}), 200, "empty"),
             {"resolved": "", "modules_used": []}, "empty template")
    for body, field in [
            ({"template": f"@nosuch_{t}"}, "template"),
            ({"template": f"@{a}"}, "template"),
            ({"template": "${missing}"}, "variables"),
            ({"template": f"@{greet}"}, "variables"),
            ({"template": "x", "variables": {"o": {"deep": 1}}}, "variables"),
            ({"template": "x", "persona_id": new_id()}, "persona_id"),
            ({}, "template"), ({"template": "x", "extra": 1}, "extra")]:
        check_error(resolve(body), 422, "validation_failed", field,
                    f"resolve {body}")
    check_error(post(server, "/api/templates/resolve",
                     raw=b'{"template":"x"}', content_type=None), 415,
                "unsupported_media_type", what="resolve without type")
    check_error(post(server, "/api/templates/resolve", raw=b'{"template"'),
                400, "bad_json", what="resolve malformed")


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 3
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(255, -1, -1)) * 2
WEBP = b"RIFF" + (300).to_bytes(4, "little") + b"WEBPVP8 " + b"\x07" * 300


@case("fast")
def persona_image_upload(server):
    upload_dir = server.upload_dir
    for media, data, ext in [("image/png", PNG, "png"),
                             ("image/jpeg", JPEG, "jpg"),
                             ("image/webp", WEBP, "webp")]:
        reply = post(server, "/api/personas/upload-image", raw=data,
                     content_type=media)
        body = check_ok(reply, 201, f"upload {media}")
        check_eq((body.get("content_type"), body.get("size")),
                 (media, len(data)), f"{media}: answer")
        url = body.get("url", "")
        check(re.match(r"^/api/personas/images/[0-9a-f-]{36}\." + ext + "$",
                       url), f"{media}: url {url!r}")
        check_eq(reply.header("Location"), url, f"{media}: Location")
        # Each user's images have a folder; --auth none's user is "local".
        mine = os.path.join(upload_dir, "local")
        check(os.path.basename(url) in os.listdir(mine),
              f"{media}: not saved in {mine}")
        image = get(server, url)
        check_eq((image.status, image.header("Content-Type"), image.body),
                 (200, media, data), f"{media}: GET {url}")
        persona = create(server, "personas", {"name": "pic", "image_url": url})
        check_eq(persona["image_url"], url, "image_url")
    for media, data in [("text/plain", PNG), ("image/png", JPEG),
                        ("image/jpeg", PNG), ("image/gif", b"GIF89a" + PNG),
                        ("application/json", b"{}"), (None, PNG),
                        ("image/webp", b"RIFF\x00\x00\x00\x00WAVE")]:
        check_error(post(server, "/api/personas/upload-image", raw=data,
                         content_type=media), 415, "unsupported_media_type",
                    what=f"upload {media} {data[:8]!r}")
    check_error(post_oversized(server, "/api/personas/upload-image",
                               "image/png", (1 << 20) + 1), 413, "too_large",
                what="an image over 1 MiB")
    for name in (f"{new_id()}.png", "nope.png", f"{new_id()}.exe",
                 "..%2F..%2Fetc%2Fpasswd"):
        check_error(get(server, f"/api/personas/images/{name}"), 404,
                    "not_found", what=f"image {name}")


# ---- documents, CORS


@case("fast")
def docs_are_served(server):
    reply = get(server, "/openapi.json")
    doc = check_ok(reply, 200, "/openapi.json")
    check_eq(doc.get("openapi"), "3.1.0", "OpenAPI version")
    page = get(server, "/docs")
    check_eq(page.status, 200, "/docs")
    check(page.header("Content-Type").startswith("text/html"),
          f"/docs Content-Type {page.header('Content-Type')}")
    check(b"swagger-ui" in page.body and b"/docs/swagger-ui-bundle.js"
          in page.body, "/docs page")
    bundle = get(server, "/docs/swagger-ui-bundle.js")
    check_eq(bundle.status, 200, "bundle status")
    check("javascript" in (bundle.header("Content-Type") or ""),
          f"bundle Content-Type {bundle.header('Content-Type')}")
    with open(os.path.join(DOCS_DIR, "swagger-ui-bundle.js"), "rb") as f:
        check(bundle.body == f.read(), "bundle differs from --docs-dir's")
    init = get(server, "/docs/initializer.js")
    check(init.status == 200 and b"/openapi.json" in init.body,
          "initializer.js")
    css = get(server, "/docs/swagger-ui.css")
    check_eq((css.status, css.header("Content-Type")), (200, "text/css"),
             "swagger-ui.css")
    check_error(get(server, "/docs/nope.js"), 404, "not_found",
                what="unknown docs file")
    check_error(get(server, "/docs/..%2F..%2Fpackage.json"), 404, "not_found",
                what="docs path escape")


@case("idle")
def docs_without_swagger_ui(server):
    # This server's --docs-dir is an empty folder.
    check_error(get(server, "/docs"), 404, "not_found", what="/docs")
    check_error(get(server, "/docs/swagger-ui-bundle.js"), 404, "not_found",
                what="bundle")
    check_ok(get(server, "/openapi.json"), 200, "/openapi.json")


def cors_headers(reply):
    return {k: v for k, v in reply.headers.items()
            if k.startswith("access-control-")}


@case("fast")
def cors_for_configured_origins(server):
    for origin in (ORIGIN, OTHER_ORIGIN):
        reply = get(server, "/api/personas", headers={"Origin": origin})
        check_eq(reply.header("Access-Control-Allow-Origin"), origin,
                 f"{origin}: Allow-Origin")
        check("X-Total-Count" in (reply.header(
            "Access-Control-Expose-Headers") or ""), "Expose-Headers")
        check("Origin" in (reply.header("Vary") or ""), "Vary")
    for origin in (FOREIGN_ORIGIN, None, "null"):
        reply = get(server, "/health",
                    headers={"Origin": origin} if origin else {})
        check_eq(cors_headers(reply), {}, f"CORS headers for {origin}")
    err = get(server, "/api/nope", headers={"Origin": ORIGIN})
    check_eq((err.status, err.header("Access-Control-Allow-Origin")),
             (404, ORIGIN), "an error answer")
    created = post(server, "/api/personas", {"name": "cors"},
                   headers={"Origin": ORIGIN})
    check_eq((created.status, created.header("Access-Control-Allow-Origin")),
             (201, ORIGIN), "a POST answer")
    preflight = request(server, "OPTIONS", "/api/personas", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    check_eq(preflight.status, 204, "preflight status")
    check_eq(preflight.header("Access-Control-Allow-Origin"), ORIGIN,
             "preflight Allow-Origin")
    methods = preflight.header("Access-Control-Allow-Methods") or ""
    check(all(m in methods for m in ("GET", "POST", "PUT", "DELETE")),
          f"Allow-Methods {methods!r}")
    check("content-type" in (preflight.header(
        "Access-Control-Allow-Headers") or "").lower(), "Allow-Headers")
    foreign = request(server, "OPTIONS", "/api/personas", headers={
        "Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "POST"})
    check_eq((foreign.status, cors_headers(foreign)), (204, {}),
             "preflight of a foreign origin")
    started = start_run(server, {"query": QUESTION})
    wait_status(server, started["run_id"], {"complete"})
    stream = SseStream(server, f"/api/agent/{started['run_id']}/stream",
                       headers={"Origin": ORIGIN})
    try:
        check_eq(stream.header("Access-Control-Allow-Origin"), ORIGIN,
                 "an event stream")
        stream.read_all()
    finally:
        stream.close()


@case("slow")
def no_cors_without_origins(server):
    # This server has no --cors-origin.
    for method, path in [("GET", "/health"), ("GET", "/api/personas"),
                         ("OPTIONS", "/api/personas"), ("GET", "/api/nope")]:
        reply = request(server, method, path, headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
        check_eq(cors_headers(reply), {}, f"{method} {path}: CORS headers")


def run_validator(*documents):
    """validate_openapi.mjs on temp files holding `documents` (the OpenAPI
    document, then optionally the answers)."""
    node = shutil.which("node")
    check(node, "no node on PATH")
    names = []
    try:
        for content in documents:
            with tempfile.NamedTemporaryFile("w", suffix=".json",
                                             delete=False) as f:
                json.dump(content, f)
                names.append(f.name)
        return subprocess.run(
            [node, os.path.join(HERE, "validate_openapi.mjs"), *names],
            capture_output=True, text=True, timeout=60)
    finally:
        for name in names:
            os.unlink(name)


@case("fast")
def openapi_document_validates(server):
    doc = check_ok(get(server, "/openapi.json"), 200, "/openapi.json")
    result = run_validator(doc)
    check_eq(result.returncode, 0, f"validate_openapi.mjs: {result.stderr}")
    check(result.stdout.startswith("valid:"), f"output {result.stdout!r}")
    # The validator must be able to fail: a dangling $ref is refused.
    broken = json.loads(json.dumps(doc))
    broken["paths"]["/health"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"] = {"$ref": "#/components/schemas/Nope"}
    result = run_validator(broken)
    check(result.returncode == 1 and "Nope" in result.stderr,
          f"a broken document passed: {result.returncode} {result.stderr}")
    operations = {(m.upper(), p) for p, item in doc["paths"].items()
                  for m in item}
    missing = set()
    for route in ("GET /health", "POST /api/agent/run_agent",
                  "GET /api/agent/{run_id}/status",
                  "GET /api/agent/{run_id}/stream",
                  "POST /api/agent/{run_id}/cancel",
                  "GET /api/agent/{run_id}/events", "POST /api/chat/send",
                  "POST /api/templates/resolve",
                  "POST /api/personas/upload-image",
                  "GET /api/modules/plugin-functions",
                  "DELETE /api/conversations/{id}/memories",
                  "GET /api/conversations/by-persona/{persona_id}",
                  "GET /api/messages/by-conversation/{conversation_id}"):
        if tuple(route.split(" ")) not in operations:
            missing.add(route)
    for kind in KINDS:
        for m, p in [("GET", ""), ("POST", ""), ("GET", "/{id}"),
                     ("PUT", "/{id}"), ("DELETE", "/{id}")]:
            if (m, f"/api/{kind}{p}") not in operations:
                missing.add(f"{m} /api/{kind}{p}")
    check_eq(sorted(missing), [], "operations missing from the document")


def probe_path(template):
    return re.sub(r"\{([^}]+)\}", lambda m: {
        "session_id": "probe", "file": "nope.png"}.get(m.group(1), new_id()),
        template)


@case("fast")
def every_documented_route_answers(server):
    doc = check_ok(get(server, "/openapi.json"), 200, "/openapi.json")
    bad = []
    for template, item in doc["paths"].items():
        for method in item:
            path = probe_path(template)
            # Unknown ids and empty bodies: refused without side effects
            # (a stream of an unknown run is refused before it opens).
            body = {} if method in ("post", "put") else None
            reply = request(server, method.upper(), path, body)
            no_route = reply.status == 404 and b"no route" in reply.body
            if no_route or reply.status in (405, 501) or reply.status >= 500:
                bad.append(f"{method.upper()} {template} -> {reply!r}")
    check_eq(bad, [], "documented routes that do not answer")


def match_operation(doc, method, path):
    """The document's (template, operation) for a request, or None."""
    parts = path.split("/")
    best, best_score = None, -1
    for template, item in doc["paths"].items():
        want = template.split("/")
        if len(want) != len(parts):
            continue
        score = 0
        for w, p in zip(want, parts):
            if w.startswith("{"):
                if not p:
                    break
            elif w != p:
                break
            else:
                score += 1
        else:
            if score > best_score and method.lower() in item:
                best, best_score = (template, item[method.lower()]), score
    return best


@case("fast")
def every_status_seen_is_documented(server):
    # Runs last: every answer of every case (and server) is in SEEN.
    doc = check_ok(get(server, "/openapi.json"), 200, "/openapi.json")
    with SEEN_LOCK:
        seen = sorted(set(SEEN))
    undocumented = set()
    for method, path, status in seen:
        if method == "OPTIONS" or status in (405,):
            continue
        found = match_operation(doc, method, path)
        if found is None:
            continue  # an unknown path (the 404s of the routing cases)
        template, op = found
        if str(status) not in op.get("responses", {}):
            undocumented.add(f"{method} {template} -> {status}")
    check_eq(sorted(undocumented), [],
             "statuses the server answered that /openapi.json does not list")


@case("fast")
def every_answer_matches_its_schema(server):
    # Runs last: every JSON answer of every case is in SEEN_BODIES.
    doc = check_ok(get(server, "/openapi.json"), 200, "/openapi.json")
    with SEEN_LOCK:
        seen = list(SEEN_BODIES)
    answers, per_key, kept = [], {}, set()
    for method, path, status, body in seen:
        found = match_operation(doc, method, path)
        if found is None:
            continue
        key = (method, found[0], status)
        text = json.dumps(body, sort_keys=True)
        if (key, text) in kept or per_key.get(key, 0) >= 40:
            continue
        kept.add((key, text))
        per_key[key] = per_key.get(key, 0) + 1
        answers.append({"method": method, "path": found[0],
                        "status": status, "body": body})
    check(answers, "no answers to check")
    # The validator must be able to fail: a persona without its name.
    wrong = {"method": "GET", "path": "/api/personas/{id}", "status": 200,
             "body": {"id": new_id()}}
    result = run_validator(doc, [wrong])
    check(result.returncode == 1 and "name" in result.stderr,
          f"a wrong answer passed: {result.returncode} {result.stderr}")
    result = run_validator(doc, answers)
    check_eq(result.returncode, 0,
             f"answers vs /openapi.json's schemas: {result.stderr}")


# -- the runner ---------------------------------------------------------------


def server_args(dirs):
    return {
        "fast": ["--token-interval-ms", "0", "--upload-dir", dirs["fast"],
                 "--cors-origin", ORIGIN, "--cors-origin", OTHER_ORIGIN,
                 "--docs-dir", DOCS_DIR],
        "slow": ["--token-interval-ms", "100", "--upload-dir", dirs["slow"]],
        "idle": ["--token-interval-ms", "1500", "--sse-keepalive-s", "1",
                 "--chat-timeout-s", "1", "--upload-dir", dirs["idle"],
                 "--docs-dir", dirs["empty"]],
    }


def main():
    args = parse_args(__doc__, with_cases=True)
    root = tempfile.mkdtemp(prefix="parley-rest-")
    dirs = {k: os.path.join(root, k) for k in ("fast", "slow", "idle",
                                                "empty")}
    os.mkdir(dirs["empty"])

    def prepare(key, server):
        server.upload_dir = dirs[key]
    try:
        return run_suite(args.parleyd, server_args(dirs),
                         only=set(args.cases), timed=True, prepare=prepare)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

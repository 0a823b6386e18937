#!/usr/bin/python3
"""parleyd's transport limits (docs/limits.md) against a real server over
real sockets: the WebSocket Origin check, the per-address connection limit,
the request-head deadline (slowloris), the idle keep-alive and idle
WebSocket deadlines and the header size limit.

Run as:  /usr/bin/python3 limits_test.py --parleyd PATH [CASE...]

Raw sockets throughout: the cases need requests a polite client library will
not send (trickled headers, a WebSocket peer that never answers a ping).
Waits poll a socket or the server with a deadline; nothing sleeps and hopes.
Already asserted elsewhere, so not here: an oversized WebSocket message
closes with 1009 and the server goes on (lifecycle_test.cpp), deeply nested
JSON gets a bad_json error frame on a connection that goes on chatting
(bad_input_test.cpp), a JSON body over 1 MiB is 413 (rest_test.py), a peer
silent for two heartbeats is closed with 1001 "heartbeat timeout"
(lifecycle_test.cpp).
"""

import base64
import json
import os
import select
import socket
import struct
import sys
import time

from parley_testlib import (Failure, case, check, check_eq, parse_args,
                            run_suite)

IO_TIMEOUT_S = 10


# -- raw HTTP -----------------------------------------------------------------


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case names
        self.body = body

    def json(self):
        return json.loads(self.body)

    def error_code(self):
        check_eq(self.headers.get("content-type"), "application/json",
                 f"Content-Type of the {self.status}")
        return self.json()["error"]["code"]


def connect(server):
    sock = socket.create_connection(("127.0.0.1", server.port),
                                    timeout=IO_TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_some(sock, deadline):
    """Bytes that arrive before `deadline` (b"" once the peer closed);
    None when nothing arrived in time."""
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([sock], [], [], left)[0]:
        return None
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def read_reply(sock, timeout=IO_TIMEOUT_S, pending=b""):
    """One HTTP response (a body only by Content-Length); the bytes read
    past it are in its `leftover`."""
    deadline = time.monotonic() + timeout
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = recv_some(sock, deadline)
        if not chunk:
            raise Failure(f"no whole response head within {timeout} s "
                          f"({'closed' if chunk == b'' else 'silent'}); "
                          f"got {data!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = recv_some(sock, deadline)
        if not chunk:
            raise Failure(f"body cut short: {rest!r}")
        rest += chunk
    reply = Reply(status, headers, rest[:length])
    reply.leftover = rest[length:]
    return reply


def wait_closed(sock, timeout=IO_TIMEOUT_S):
    """Seconds until the server closed `sock`; fails if it stays open or
    sends more bytes."""
    began = time.monotonic()
    deadline = began + timeout
    while True:
        chunk = recv_some(sock, deadline)
        if chunk is None:
            raise Failure(f"the server kept the connection open {timeout} s")
        if chunk == b"":
            return time.monotonic() - began
        raise Failure(f"unexpected bytes instead of a close: {chunk!r}")


def get(path, server, extra=""):
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"{extra}\r\n").encode()


def request(server, raw):
    """Sends `raw` on a fresh connection; its response."""
    with connect(server) as sock:
        sock.sendall(raw)
        return read_reply(sock)


def upgrade(server, headers=(), path="/ws/chat"):
    """A WebSocket upgrade request with extra `headers` (name, value)."""
    key = base64.b64encode(os.urandom(16)).decode()
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return get(path, server,
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               + extra)


# -- raw WebSocket frames -----------------------------------------------------


def masked_frame(opcode, payload=b""):
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


class FrameReader:
    """Server frames (unmasked, unfragmented) from a raw socket."""

    def __init__(self, sock, pending=b""):
        self.sock = sock
        self.data = pending

    def _need(self, n, deadline):
        while len(self.data) < n:
            chunk = recv_some(self.sock, deadline)
            if not chunk:
                return False
            self.data += chunk
        return True

    def next(self, deadline):
        """(opcode, payload), or None when nothing whole arrived in time or
        the connection ended."""
        if not self._need(2, deadline):
            return None
        length = self.data[1] & 0x7F
        offset = 2
        if length == 126:
            if not self._need(4, deadline):
                return None
            length = struct.unpack("!H", self.data[2:4])[0]
            offset = 4
        elif length == 127:
            if not self._need(10, deadline):
                return None
            length = struct.unpack("!Q", self.data[2:10])[0]
            offset = 10
        if not self._need(offset + length, deadline):
            return None
        opcode = self.data[0] & 0x0F
        payload = self.data[offset:offset + length]
        self.data = self.data[offset + length:]
        return opcode, payload


def open_raw_websocket(server):
    """A socket past a 101 and a reader of its frames."""
    sock = connect(server)
    sock.sendall(upgrade(server))
    reply = read_reply(sock)
    check_eq(reply.status, 101, "upgrade status")
    return sock, FrameReader(sock, reply.leftover)


def read_until_close(reader, timeout):
    """Frames up to the close frame: (close code, reason, opcodes seen)."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        frame = reader.next(deadline)
        if frame is None:
            raise Failure(f"no close frame within {timeout} s; saw {seen}")
        opcode, payload = frame
        seen.append(opcode)
        if opcode == 0x8:
            code = struct.unpack("!H", payload[:2])[0]
            return code, payload[2:].decode(), seen


# -- WebSocket origin ---------------------------------------------------------

ALLOWED = "http://allowed.example"


def check_refused_403(server, reply, what):
    check_eq(reply.status, 403, f"{what}: status")
    check_eq(reply.error_code(), "forbidden", f"{what}: error code")
    check(reply.json()["error"]["message"], f"{what}: no message")


@case("origin")
def foreign_origin_is_403_forbidden_and_closed(server):
    with connect(server) as sock:
        sock.sendall(upgrade(server, [("Origin", "http://evil.example")]))
        reply = read_reply(sock)
        check_refused_403(server, reply, "foreign origin")
        check("evil.example" in reply.json()["error"]["message"],
              f"the message names the origin: {reply.body!r}")
        check_eq(reply.headers.get("connection"), "close", "Connection")
        wait_closed(sock)
    # A look-alike of the allowed origin is foreign too.
    reply = request(server, upgrade(server, [
        ("Origin", ALLOWED + ".evil.example")]))
    check_refused_403(server, reply, "look-alike origin")


@case("origin")
def listed_origin_is_101(server):
    reply = request(server, upgrade(server, [("Origin", ALLOWED),
                                             ("Sec-Fetch-Mode", "websocket")]))
    check_eq(reply.status, 101, "allowed origin")


@case("origin")
def same_origin_is_101(server):
    for origin in [f"http://127.0.0.1:{server.port}",
                   f"https://127.0.0.1:{server.port}"]:
        reply = request(server, upgrade(server, [
            ("Origin", origin), ("Sec-Fetch-Site", "same-origin")]))
        check_eq(reply.status, 101, f"same origin {origin}")


@case("origin")
def no_origin_without_browser_markers_is_101(server):
    reply = request(server, upgrade(server))
    check_eq(reply.status, 101, "a CLI-style upgrade")


@case("origin")
def no_origin_with_browser_markers_is_403(server):
    for marker in ["Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest"]:
        reply = request(server, upgrade(server, [(marker, "websocket")]))
        check_refused_403(server, reply, f"no Origin, {marker}")


# -- per-address connection limit ---------------------------------------------


def health_on(sock, server):
    sock.sendall(get("/health", server))
    return read_reply(sock)


def check_refused_429(server):
    """A fourth connection gets 429 and is closed."""
    with connect(server) as sock:
        reply = health_on(sock, server)
        check_eq(reply.status, 429, "status over the limit")
        check_eq(reply.error_code(), "too_many_connections", "error code")
        check_eq(reply.headers.get("connection"), "close", "Connection")
        wait_closed(sock)


def eventually_served(server, timeout=IO_TIMEOUT_S):
    """Retries GET /health on fresh connections until it is 200 (a closed
    connection is released when the server notices the close)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = request(server, get("/health", server))
        if reply.status == 200:
            return
        check_eq(reply.status, 429, "while waiting for a free slot")
        if time.monotonic() > deadline:
            raise Failure(f"still 429 after {timeout} s")
        time.sleep(0.05)


@case("conns")
def fourth_keep_alive_connection_is_429_until_one_closes(server):
    held = [connect(server) for _ in range(3)]
    try:
        for sock in held:
            check_eq(health_on(sock, server).status, 200, "held connection")
        check_refused_429(server)
        # The held connections still work: the refusal cost them nothing.
        check_eq(health_on(held[0], server).status, 200, "after the refusal")
        held.pop().close()
        eventually_served(server)
    finally:
        for sock in held:
            sock.close()
    eventually_served(server)


@case("conns")
def websocket_connections_count_too(server):
    ws, reader = open_raw_websocket(server)
    held = [ws]
    try:
        held.append(connect(server))
        check_eq(health_on(held[-1], server).status, 200, "keep-alive")
        # An SSE stream of an unknown run answers 404 at once, so hold a
        # third keep-alive connection instead; the stream is counted by the
        # same slot (docs/limits.md).
        held.append(connect(server))
        check_eq(health_on(held[-1], server).status, 200, "keep-alive")
        check_refused_429(server)
        ws.close()
        held.remove(ws)
        eventually_served(server)
    finally:
        for sock in held:
            sock.close()


# -- slowloris and idle keep-alive --------------------------------------------


@case("slow")
def trickled_headers_get_408_while_others_are_served(server):
    with connect(server) as slow:
        began = time.monotonic()
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        served_meanwhile = False
        reply = None
        pending = b""
        deadline = began + IO_TIMEOUT_S
        while reply is None:
            check(time.monotonic() < deadline,
                  f"no answer to the trickle within {IO_TIMEOUT_S} s")
            chunk = recv_some(slow, time.monotonic() + 0.3)
            if chunk is None:
                try:
                    slow.sendall(b"a")  # one more header byte, never a CRLF
                except (BrokenPipeError, ConnectionResetError):
                    raise Failure("closed without an answer") from None
                if not served_meanwhile and time.monotonic() - began > 0.4:
                    # Another client is served while the trickle goes on.
                    ok = request(server, get("/health", server))
                    check_eq(ok.status, 200, "a normal request meanwhile")
                    served_meanwhile = True
                continue
            check(chunk, "closed without an answer")
            pending += chunk
            if b"\r\n\r\n" in pending:
                reply = read_reply(slow, pending=pending)
        took = time.monotonic() - began
        check_eq(reply.status, 408, "status of the trickle")
        check_eq(reply.error_code(), "timeout", "error code")
        check(served_meanwhile, "no normal request was made meanwhile")
        # --header-timeout-s 1, bytes every 0.3 s notwithstanding.
        check(0.9 <= took < 4, f"408 after {took:.2f} s")
        wait_closed(slow)


@case("slow")
def a_connection_that_sends_nothing_gets_408(server):
    with connect(server) as sock:
        began = time.monotonic()
        reply = read_reply(sock)
        took = time.monotonic() - began
        check_eq(reply.status, 408, "status")
        check(0.9 <= took < 4, f"408 after {took:.2f} s")
        wait_closed(sock)


@case("slow")
def an_idle_keep_alive_connection_is_closed_without_a_response(server):
    with connect(server) as sock:
        check_eq(health_on(sock, server).status, 200, "first request")
        took = wait_closed(sock)
        check(0.9 <= took < 4, f"closed after {took:.2f} s idle")


@case("slow")
def a_slow_body_is_not_cut_by_the_header_deadline(server):
    # Only the head has the short deadline; the body has the request's.
    body = b'{"message":"hello"}'
    with connect(server) as sock:
        sock.sendall(b"POST /broadcast HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode()
                     + b"\r\n\r\n")
        for i in range(0, len(body), 4):  # 5 pieces over ~1.5 s
            time.sleep(0.3)
            sock.sendall(body[i:i + 4])
        reply = read_reply(sock)
        check_eq(reply.status, 200, f"slow body: {reply.body!r}")


# -- idle WebSocket -----------------------------------------------------------


@case("idle")
def websocket_peer_that_sends_nothing_is_closed_idle(server):
    sock, reader = open_raw_websocket(server)
    with sock:
        began = time.monotonic()
        code, reason, seen = read_until_close(reader, IO_TIMEOUT_S)
        took = time.monotonic() - began
        check_eq(code, 1001, "close code")
        check_eq(reason, "idle timeout: nothing received for 1 s",
                 "close reason")
        check(0.9 <= took < 4, f"closed after {took:.2f} s")
        check(seen.count(0x1) >= 2, f"greeting frames before close: {seen}")
        # Our close answer completes the handshake; then the server hangs up.
        sock.sendall(masked_frame(0x8, struct.pack("!H", 1000)))
        wait_closed(sock)


@case("idle")
def websocket_that_keeps_sending_stays_open(server):
    sock, reader = open_raw_websocket(server)
    with sock:
        began = time.monotonic()
        # Pings every 0.4 s for 2.5 s, beyond two idle timeouts: each is an
        # answer-less sign of life, and every pong must come back.
        while time.monotonic() - began < 2.5:
            sock.sendall(masked_frame(0x9, b"alive"))
            deadline = time.monotonic() + 0.4
            while True:
                frame = reader.next(deadline)
                if frame is None:
                    break
                check(frame[0] != 0x8, f"closed while active: {frame!r}")
        # Silent from now on: closed within the bound.
        code, reason, _ = read_until_close(reader, 4)
        check_eq(code, 1001, "close code once silent")
        check("idle timeout" in reason, f"reason {reason!r}")


@case("heartbeat")
def websocket_that_ignores_pings_is_closed_by_the_heartbeat(server):
    sock, reader = open_raw_websocket(server)
    with sock:
        began = time.monotonic()
        code, reason, seen = read_until_close(reader, IO_TIMEOUT_S)
        took = time.monotonic() - began
        check(0x9 in seen, f"no ping before the close: {seen}")
        check_eq(code, 1001, "close code")
        check_eq(reason, "heartbeat timeout", "close reason")
        # Silent for two periods of 1 s, noticed at the next tick.
        check(1.9 <= took < 5, f"closed after {took:.2f} s")


# -- size limits --------------------------------------------------------------


@case("default")
def oversized_headers_are_431(server):
    with connect(server) as sock:
        sock.sendall(get("/health", server, "X-Big: " + "a" * (17 << 10)
                         + "\r\n"))
        reply = read_reply(sock)
        check_eq(reply.status, 431, "status")
        check_eq(reply.error_code(), "too_large", "error code")
        wait_closed(sock)
    check_eq(request(server, get("/health", server)).status, 200,
             "served after")


@case("default")
def a_body_announced_over_the_limit_is_413_before_it_is_sent(server):
    with connect(server) as sock:
        sock.sendall(b"POST /broadcast HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\n"
                     b"Content-Length: 1073741824\r\n\r\n")
        reply = read_reply(sock)
        check_eq(reply.status, 413, "status")
        check_eq(reply.error_code(), "too_large", "error code")
        wait_closed(sock)


# -- slow consumers -----------------------------------------------------------


def broadcast(server, text):
    body = json.dumps({"message": text}).encode()
    raw = (f"POST /broadcast HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
           f"Content-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
           ).encode() + body
    return request(server, raw)


@case("slow")
def a_client_that_stops_reading_is_closed_1008_while_others_stream_on(server):
    slow, slow_reader = open_raw_websocket(server)
    fast, fast_reader = open_raw_websocket(server)
    # Each broadcast is 256 KiB; the server holds at most 1 MiB for one
    # reader (--max-queued-bytes), plus what the kernel buffers take.
    text = "x" * (256 << 10)
    deadline = time.monotonic() + IO_TIMEOUT_S
    # 15 MiB: more than the kernel's buffers on both ends and the 1 MiB
    # queue together, so the slow reader must overflow.
    for sent in range(1, 61):
        check_eq(broadcast(server, text).status, 200, "broadcast")
        # The fast reader gets every broadcast, in step.
        while True:
            frame = fast_reader.next(deadline)
            check(frame is not None, f"fast reader stalled at {sent}")
            if frame[0] == 0x1 and b'"broadcast"' in frame[1]:
                break
    # It gets what was queued, then the close frame with the reason.
    code, reason, _ = read_until_close(slow_reader, IO_TIMEOUT_S)
    check_eq(code, 1008, "close code of the slow reader")
    check("reads too slowly" in reason, f"close reason {reason!r}")
    # Once its session ended, broadcasts reach the fast reader alone.
    deadline = time.monotonic() + IO_TIMEOUT_S
    while broadcast(server, "still here").json()["sent_to"] != 1:
        check(time.monotonic() < deadline, "the slow session never ended")
        time.sleep(0.05)
    # (Big messages arrive in fragments: skip to the last broadcast.)
    while True:
        frame = fast_reader.next(deadline)
        check(frame is not None, "the fast reader goes on")
        if frame[0] == 0x1 and b"still here" in frame[1]:
            break
    slow.close()
    fast.close()


# -- the runner ---------------------------------------------------------------

SERVER_ARGS = {
    "origin": ["--allowed-origin", ALLOWED],
    # A generous head deadline, so held keep-alive connections stay open.
    "conns": ["--max-conns-per-ip", "3", "--header-timeout-s", "60"],
    "slow": ["--header-timeout-s", "1", "--max-queued-bytes", "1048576"],
    # The heartbeat would close a silent peer only after 2 minutes.
    "idle": ["--ws-idle-timeout-s", "1", "--heartbeat-s", "60"],
    # And the heartbeat first when it is the shorter bound.
    "heartbeat": ["--heartbeat-s", "1", "--ws-idle-timeout-s", "60"],
    "default": [],
}


def main():
    args = parse_args(__doc__, with_cases=True)
    return run_suite(args.parleyd, SERVER_ARGS, only=args.cases, timed=True)


if __name__ == "__main__":
    sys.exit(main())

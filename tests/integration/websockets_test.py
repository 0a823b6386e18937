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

import asyncio
import json
import sys
import time
import urllib.error
import urllib.request

import websockets

from parley_testlib import (FRAME_TIMEOUT_S, QUESTION, Failure, case,
                            check, check_answer_63, check_eq, connect, fence,
                            greeting, of_type, parse_args, read_until,
                            recv_json, run_of, run_suite)


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


def chat(message, **fields):
    return json.dumps({"type": "chat", "payload": {"message": message, **fields}})


def check_last_run_answers_63(frames):
    """The run of the last of `frames` (all its frames among them) ended in
    done with 63 in the answer."""
    run_id = frames[-1]["data"]["chat_session_id"]
    check_answer_63(run_of(frames, run_id), run_id, "the run")


# -- the cases ----------------------------------------------------------------


@case("fast")
async def full_answer_contains_63(server):
    async with connect(server) as ws:
        session_id = await greeting(ws)
        sent_us = time.time_ns() // 1000
        await ws.send(chat(QUESTION))
        frames = await read_until(ws, of_type("done"), "done")
        received_us = time.time_ns() // 1000
        run_id = frames[-1]["data"]["chat_session_id"]
        run = run_of(frames, run_id)
        check_eq(len(run), len(frames), "frames not of the run")
        # Each event says when it was made: after the chat, before it
        # arrived, in seq order (the server shares this machine's clock).
        made = [f["data"]["time_us"] for f in run]
        check(all(isinstance(t, int) for t in made), f"time_us: {made}")
        check(made == sorted(made), f"time_us out of order: {made}")
        check(sent_us <= made[0] and made[-1] <= received_us,
              f"time_us {made[0]}..{made[-1]} outside the run's "
              f"{sent_us}..{received_us}")
        check_answer_63(run, run_id, "the run")
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
        check_last_run_answers_63(frames)
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
        check_last_run_answers_63(frames)


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
    check_eq((status, body), (200, {"status": "ok", "storage": "up"}), "/health")
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


def main():
    return run_suite(parse_args(__doc__).parleyd, SERVER_ARGS)


if __name__ == "__main__":
    sys.exit(main())

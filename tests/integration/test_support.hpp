// Shared steps of the integration tests: building client frames, picking a
// run's frames out of a stream, and waiting (with deadlines) for the
// server's view of its connections to change.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server_process.hpp"
#include "ws_client.hpp"

namespace parley::test {

/// The question the researcher agent answers with 63.
constexpr std::string_view question = "What is (17+4)*3?";

/// `text` as a JSON string literal, quotes included.
std::string json_quote(std::string_view text);

/// `{"type":"chat","payload":{"message":<message>, <extra>}}`; `extra` is
/// raw JSON members, e.g. `"client_msg_id":"m-1"`.
std::string chat_frame(std::string_view message, std::string_view extra = {});

/// Sends a chat of `question` (with `extra` members) and reads until the
/// run's first frame of `type`; returns the run id and every frame so far.
std::pair<std::string, std::vector<ws_frame>>
chat_until(ws_client& ws, std::string_view type, std::string_view extra = {});

/// Appends `more` to `all`.
void append(std::vector<ws_frame>& all, std::vector<ws_frame>&& more);

/// The frames of run `run_id`, in arrival order.
std::vector<const ws_frame*> frames_of_run(const std::vector<ws_frame>& frames,
                                           const std::string& run_id);

/// The `type`s of `frames`, for comparing a whole sequence at once.
std::vector<std::string> types_of(const std::vector<const ws_frame*>& frames);

/// The position of the first frame of `type` (of run `run_id` unless empty)
/// in `frames`, or -1.
long index_of(const std::vector<ws_frame>& frames, std::string_view type,
              const std::string& run_id = {});

/// Checks that a run's frames carry seq 1, 2, 3, ... without a gap.
void check_contiguous_seqs(const std::vector<const ws_frame*>& run);

/// Checks a run that completed: chat_session_start first, contiguous seqs,
/// exactly one terminal frame (`done`, last), and the answer chunks
/// concatenating to done.content, which mentions 63.
void check_answered_63(const std::vector<const ws_frame*>& run);

/// GET /connections until it reports `count` connections, or `deadline`
/// passes; returns the last reply (the caller checks it).
http_reply wait_for_connections(uint16_t port, size_t count,
                                millis deadline = 10s);

/// `session_ids` of a /connections reply.
std::vector<std::string> session_ids_of(const http_reply& reply);

/// Stops the server and checks it exited with code 0 on SIGTERM. Drops
/// `drop_first` before: a client that is not reading cannot answer the
/// server's goodbye close, and the server would wait its close timeout (5 s)
/// for each (see "SIGTERM with a peer that ignores the close ...").
void check_clean_exit(server_process& server,
                      std::initializer_list<ws_client*> drop_first = {});

} // namespace parley::test

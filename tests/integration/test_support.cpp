#include "test_support.hpp"

#include <thread>

#include <catch2/catch.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace http = boost::beast::http;

namespace parley::test {

std::string json_quote(std::string_view text) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buf};
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return {buf.GetString(), buf.GetSize()};
}

std::string chat_frame(std::string_view message, std::string_view extra) {
  std::string out = R"({"type":"chat","payload":{"message":)";
  out += json_quote(message);
  if (!extra.empty()) {
    out += ',';
    out += extra;
  }
  out += "}}";
  return out;
}

std::pair<std::string, std::vector<ws_frame>>
chat_until(ws_client& ws, std::string_view type, std::string_view extra) {
  ws.send_text(chat_frame(question, extra));
  auto frames = ws.read_until(type);
  auto run_id = frames.back().run_id();
  REQUIRE_FALSE(run_id.empty());
  return {run_id, std::move(frames)};
}

void append(std::vector<ws_frame>& all, std::vector<ws_frame>&& more) {
  for (auto& frame : more)
    all.push_back(std::move(frame));
}

std::vector<const ws_frame*> frames_of_run(const std::vector<ws_frame>& frames,
                                           const std::string& run_id) {
  std::vector<const ws_frame*> out;
  for (const auto& frame : frames)
    if (!run_id.empty() && frame.run_id() == run_id)
      out.push_back(&frame);
  return out;
}

std::vector<std::string> types_of(const std::vector<const ws_frame*>& frames) {
  std::vector<std::string> out;
  for (const auto* frame : frames)
    out.push_back(frame->type());
  return out;
}

long index_of(const std::vector<ws_frame>& frames, std::string_view type,
              const std::string& run_id) {
  for (size_t i = 0; i < frames.size(); ++i)
    if (frames[i].type() == type
        && (run_id.empty() || frames[i].run_id() == run_id))
      return static_cast<long>(i);
  return -1;
}

void check_contiguous_seqs(const std::vector<const ws_frame*>& run) {
  std::vector<uint64_t> seqs;
  std::vector<uint64_t> expected;
  for (size_t i = 0; i < run.size(); ++i) {
    seqs.push_back(run[i]->seq());
    expected.push_back(i + 1);
  }
  CHECK(seqs == expected);
}

void check_answered_63(const std::vector<const ws_frame*>& run) {
  REQUIRE(run.size() >= 3);
  INFO("run types: " << Catch::Detail::stringify(types_of(run)));
  CHECK(run.front()->type() == "chat_session_start");
  CHECK(run.back()->type() == "done");
  check_contiguous_seqs(run);
  std::string answer;
  size_t terminals = 0;
  for (const auto* frame : run) {
    auto type = frame->type();
    terminals += type == "done" || type == "cancelled" || type == "error";
    if (type == "chunk" && !frame->boolean("thinking"))
      answer += frame->str("content");
  }
  CHECK(terminals == 1);
  const auto& done = *run.back();
  CHECK(done.str("content") == answer);
  CHECK(done.str("content").find("63") != std::string::npos);
}

http_reply wait_for_connections(uint16_t port, size_t count, millis deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    auto reply = http_request(port, http::verb::get, "/connections");
    const auto& json = reply.json;
    bool matches = reply.status == 200 && json.IsObject()
                   && json.HasMember("active_connections")
                   && json["active_connections"].IsUint64()
                   && json["active_connections"].GetUint64() == count;
    if (matches || std::chrono::steady_clock::now() >= until)
      return reply;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::vector<std::string> session_ids_of(const http_reply& reply) {
  std::vector<std::string> ids;
  REQUIRE(reply.json.IsObject());
  REQUIRE(reply.json.HasMember("session_ids"));
  const auto& list = reply.json["session_ids"];
  REQUIRE(list.IsArray());
  for (const auto& id : list.GetArray()) {
    REQUIRE(id.IsString());
    ids.emplace_back(id.GetString(), id.GetStringLength());
  }
  return ids;
}

void check_clean_exit(server_process& server,
                      std::initializer_list<ws_client*> drop_first) {
  for (auto* client : drop_first)
    client->drop();
  auto status = server.stop();
  INFO("parleyd " << to_string(status));
  CHECK(status.exited);
  CHECK(status.code == 0);
  CHECK_FALSE(status.killed_after_deadline);
}

} // namespace parley::test

// The frames parleyd's researcher agent streams for "What is (17+4)*3?",
// captured once from a real parleyd and turned into templates, so the
// ceiling server sends the same number of frames with the same bytes.
//
// Captured 2026-11-25 with
//   parleyd --listen 127.0.0.1:0 --token-interval-ms 0 --log-level warn
// and a client on /ws/chat/bench1 sending
//   {"type":"chat","payload":{"message":"What is
//   (17+4)*3?","conversation_id":"c1"}}
// Then the run id, seq, conversation id, timestamps and message id were
// replaced by the slots below; everything else is byte for byte parleyd's.
// 2026-12-02: every run event gained `"time_us"` after `seq` (when the
// event was made, docs/protocol.md); the ceiling stamps it per frame.
// If the researcher's plan changes, capture again (docs/benchmarks.md).
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace parley::bench {

/// What a slot in a template stands for.
enum class slot {
  literal,
  run,
  seq,
  conversation,
  timestamp,
  time_us,
  message_id,
  session
};

/// The greeting parleyd sends right after the upgrade, twice (`connected`,
/// then `session_start`); {session} is the connection's session id.
inline constexpr std::array<std::string_view, 2> greeting_templates{
  R"j({"type":"connected","data":{"session_id":"{session}","agent_name":"researcher","message":"Connected to Parley; agent researcher is ready"}})j",
  R"j({"type":"session_start","data":{"session_id":"{session}","agent_name":"researcher","message":"Connected to Parley; agent researcher is ready"}})j",
};

/// One run, in order: 15 frames, 4 of them `chunk` (about 2,890 bytes with
/// a 36-byte run id, a 2-byte conversation id and 16-digit times).
inline constexpr std::array<std::string_view, 15> run_templates{
  R"j({"type":"chat_session_start","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"conversation_id":"{conversation}"}})j",
  R"j({"type":"reasoning_start","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"agent":"researcher","message":"What is (17+4)*3?","enable_reasoning":true}})j",
  R"j({"type":"stage_update","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"stage":"reasoning","status":"started"}})j",
  R"j({"type":"reasoning_step","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"type":"thought","content":"The question contains the arithmetic expression (17+4)*3; I will evaluate it with the calculator.","iteration":1,"timestamp":"{timestamp}"}})j",
  R"j({"type":"reasoning_step","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"type":"action","content":"calculator((17+4)*3)","iteration":1,"timestamp":"{timestamp}"}})j",
  R"j({"type":"reasoning_step","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"type":"observation","content":"63","iteration":1,"timestamp":"{timestamp}"}})j",
  R"j({"type":"stage_update","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"stage":"reasoning","status":"completed"}})j",
  R"j({"type":"stage_update","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"stage":"responding","status":"started"}})j",
  R"j({"type":"chunk","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"content":"Used calculator: (17+4)*3 = 63.","thinking":true,"done":false}})j",
  R"j({"type":"chunk","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"content":"(17+4)*3 ","thinking":false,"done":false}})j",
  R"j({"type":"chunk","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"content":"= ","thinking":false,"done":false}})j",
  R"j({"type":"chunk","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"content":"63.","thinking":false,"done":true}})j",
  R"j({"type":"reasoning_complete","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us}}})j",
  R"j({"type":"stage_update","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"stage":"responding","status":"completed"}})j",
  R"j({"type":"done","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us},"message_id":"{message_id}","content":"(17+4)*3 = 63.","thinking":"Used calculator: (17+4)*3 = 63.","usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}})j",
};

/// The terminal frame of a cancelled run (not in the capture above: it is
/// the protocol's `cancelled` event, docs/protocol.md).
inline constexpr std::string_view cancelled_template
  = R"j({"type":"cancelled","data":{"chat_session_id":"{run}","seq":{seq},"time_us":{time_us}}})j";

/// A template split once at its slots, so rendering is a few appends.
class frame_template {
 public:
  explicit frame_template(std::string_view text) {
    static constexpr std::array<std::pair<std::string_view, slot>, 7> names{{
      {"{run}", slot::run},
      {"{seq}", slot::seq},
      {"{conversation}", slot::conversation},
      {"{timestamp}", slot::timestamp},
      {"{time_us}", slot::time_us},
      {"{message_id}", slot::message_id},
      {"{session}", slot::session},
    }};
    size_t pos = 0;
    while (pos < text.size()) {
      size_t best = std::string_view::npos;
      slot kind = slot::literal;
      size_t len = 0;
      for (auto& [name, s] : names) {
        auto at = text.find(name, pos);
        if (at < best) {
          best = at;
          kind = s;
          len = name.size();
        }
      }
      pieces_.push_back(
        {slot::literal, std::string{text.substr(pos, best - pos)}});
      if (best == std::string_view::npos)
        break;
      pieces_.push_back({kind, {}});
      pos = best + len;
    }
  }

  /// Fills the slots from `values` (indexed by slot); one allocation.
  template<class Values>
  std::string render(const Values& values) const {
    std::string out;
    out.reserve(384);
    for (auto& p : pieces_)
      out
        += p.kind == slot::literal ? std::string_view{p.text} : values(p.kind);
    return out;
  }

 private:
  struct piece {
    slot kind;
    std::string text;
  };
  std::vector<piece> pieces_;
};

} // namespace parley::bench

// The built-in `researcher` agent: a deterministic reasoning agent with real
// tools (calculator, current time, word/character counting). It needs no
// model server. The agent run actor asks it for the whole plan up front and
// then emits the plan one step per tick, so cancel lands between any two.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/events.hpp"

namespace parley {

struct agent_input {
  std::string question;
  bool enable_reasoning = true;
  int64_t now_ms = 0; ///< the clock the `time` tool reads (UTC ms)
};

/// The events of one answer, in order, without chat_session_id/seq (the chat
/// session stamps those) and without message_id on `done`. The plan is:
/// reasoning_start; stage_update(reasoning, started); for each tool use a
/// thought, an action and an observation step (omitted when reasoning is
/// off); stage_update(reasoning, completed); stage_update(responding,
/// started); one chunk per word of the answer, the last with final_chunk;
/// reasoning_complete; stage_update(responding, completed); done with the
/// full answer and token usage.
std::vector<run_event> plan_researcher(const agent_input& input);

/// A built-in function the agent (and a module) may call.
struct tool_info {
  const char* name;
  const char* description;
  const char* example;
};

/// The researcher's tools, for GET /api/modules/plugin-functions.
const std::vector<tool_info>& researcher_tools();

} // namespace parley

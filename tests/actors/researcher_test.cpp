// The researcher agent's plan: event order, reasoning steps, tool choice and
// the answers each tool gives.
#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/agents/researcher.hpp"
#include "protocol/ids.hpp"

using namespace parley;

namespace {

constexpr int64_t now_ms = 1795587328123; // 2026-11-25T06:15:28.123Z

std::vector<run_event> plan(std::string question, bool reasoning = true) {
  agent_input input;
  input.question = std::move(question);
  input.enable_reasoning = reasoning;
  input.now_ms = now_ms;
  return plan_researcher(input);
}

const run_event& done_of(const std::vector<run_event>& events) {
  REQUIRE_FALSE(events.empty());
  REQUIRE(events.back().kind == event_kind::done);
  return events.back();
}

std::vector<run_event> of_kind(const std::vector<run_event>& events,
                               event_kind kind) {
  std::vector<run_event> out;
  std::copy_if(events.begin(), events.end(), std::back_inserter(out),
               [kind](const run_event& ev) { return ev.kind == kind; });
  return out;
}

std::vector<run_event> answer_chunks(const std::vector<run_event>& events) {
  auto chunks = of_kind(events, event_kind::chunk);
  chunks.erase(std::remove_if(chunks.begin(), chunks.end(),
                              [](const run_event& ev) { return ev.thinking; }),
               chunks.end());
  return chunks;
}

std::vector<std::string> step_types(const std::vector<run_event>& events) {
  std::vector<std::string> out;
  for (const auto& ev : of_kind(events, event_kind::reasoning_step))
    out.push_back(ev.step_type);
  return out;
}

size_t index_of(const std::vector<run_event>& events, event_kind kind) {
  auto i
    = std::find_if(events.begin(), events.end(),
                   [kind](const run_event& ev) { return ev.kind == kind; });
  return static_cast<size_t>(i - events.begin());
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("the researcher evaluates arithmetic with the calculator") {
  auto events = plan("What is (17+4)*3?");
  auto& done = done_of(events);
  CHECK(done.content == "(17+4)*3 = 63.");
  CHECK(done.thinking_text == "Used calculator: (17+4)*3 = 63.");
  auto steps = of_kind(events, event_kind::reasoning_step);
  REQUIRE(steps.size() == 3);
  CHECK(steps[0].content
        == "The question contains the arithmetic expression (17+4)*3; I will "
           "evaluate it with the calculator.");
  CHECK(steps[1].content == "calculator((17+4)*3)");
  CHECK(steps[2].content == "63");
  for (const auto& step : steps)
    CHECK(step.iteration == 1);
}

TEST_CASE("the answer chunks concatenate to the done content") {
  for (auto question :
       {"What is (17+4)*3?", "What time is it?", "Who won the 1998 World Cup?",
        "How many words are in \"a  b\tc\"?"}) {
    auto events = plan(question);
    std::string joined;
    for (const auto& chunk : answer_chunks(events))
      joined += chunk.content;
    INFO(question);
    CHECK(joined == done_of(events).content);
  }
}

TEST_CASE("exactly one chunk is final and it is the last chunk") {
  auto events = plan("compute 2 + 3 * 4 please");
  auto chunks = of_kind(events, event_kind::chunk);
  REQUIRE_FALSE(chunks.empty());
  auto finals
    = std::count_if(chunks.begin(), chunks.end(),
                    [](const run_event& ev) { return ev.final_chunk; });
  CHECK(finals == 1);
  CHECK(chunks.back().final_chunk);
  CHECK_FALSE(chunks.back().thinking);
}

TEST_CASE("the plan starts with reasoning_start and ends with done") {
  auto events = plan("What is (17+4)*3?");
  REQUIRE(events.size() >= 2);
  CHECK(events.front().kind == event_kind::reasoning_start);
  CHECK(events.front().agent == "researcher");
  CHECK(events.front().message == "What is (17+4)*3?");
  CHECK(events.front().enable_reasoning);
  CHECK(events.back().kind == event_kind::done);
  CHECK(index_of(events, event_kind::reasoning_complete) < events.size() - 1);
  CHECK(index_of(events, event_kind::reasoning_complete)
        > index_of(events, event_kind::chunk));
  CHECK(std::count_if(events.begin(), events.end(),
                      [](const run_event& ev) { return is_terminal(ev.kind); })
        == 1);
}

TEST_CASE("stages go reasoning then responding, each started then completed") {
  auto events = plan("What is (17+4)*3?");
  std::vector<std::string> stages;
  for (const auto& ev : of_kind(events, event_kind::stage_update))
    stages.push_back(ev.stage + ":" + ev.status);
  CHECK(stages
        == std::vector<std::string>{"reasoning:started", "reasoning:completed",
                                    "responding:started",
                                    "responding:completed"});
}

TEST_CASE("the plan leaves the events' time to whoever plays them") {
  for (const auto& ev : plan("What time is it and what is 2+2?"))
    CHECK(ev.time_us == 0);
}

TEST_CASE("with reasoning on the plan has thought, action and observation") {
  auto events = plan("What is (17+4)*3?");
  CHECK(step_types(events)
        == std::vector<std::string>{"thought", "action", "observation"});
  auto thinking = of_kind(events, event_kind::chunk).front();
  CHECK(thinking.thinking);
  CHECK(thinking.content == done_of(events).thinking_text);
}

TEST_CASE("with reasoning off the plan has no steps but still uses tools") {
  auto events = plan("What is (17+4)*3?", false);
  CHECK(of_kind(events, event_kind::reasoning_step).empty());
  for (const auto& chunk : of_kind(events, event_kind::chunk))
    CHECK_FALSE(chunk.thinking);
  CHECK(events.front().enable_reasoning == false);
  CHECK(done_of(events).content == "(17+4)*3 = 63.");
  CHECK(done_of(events).thinking_text.empty());
}

TEST_CASE("a calculator error gets an honest answer") {
  auto events = plan("what is 5/0?");
  auto steps = of_kind(events, event_kind::reasoning_step);
  REQUIRE(steps.size() == 3);
  CHECK(steps[2].content == "error: division by zero");
  CHECK(done_of(events).content
        == "I could not evaluate 5/0: division by zero.");
}

TEST_CASE("the clock answers with the input time in ISO 8601") {
  auto events = plan("What TIME is it?");
  auto iso = to_iso8601(now_ms);
  CHECK(done_of(events).content == "The current time is " + iso + " (UTC).");
  auto steps = of_kind(events, event_kind::reasoning_step);
  REQUIRE(steps.size() == 3);
  CHECK(steps[1].content == "clock()");
  CHECK(steps[2].content == iso);
  CHECK(contains(plan("what day is it today").back().content, iso));
  CHECK(contains(plan("Tell me the date, please.").back().content, iso));
}

TEST_CASE("words that merely contain 'time' do not start the clock") {
  auto events = plan("Sometimes I wonder about candidates");
  CHECK(step_types(events) == std::vector<std::string>{"thought"});
}

TEST_CASE("text_stats counts words and code points of a quoted text") {
  auto events = plan("How many words are in \"hello big world\"?");
  CHECK(done_of(events).content
        == "The text \"hello big world\" has 3 words and 15 characters.");
  auto steps = of_kind(events, event_kind::reasoning_step);
  REQUIRE(steps.size() == 3);
  CHECK(steps[1].content == "text_stats(\"hello big world\")");
  CHECK(steps[2].content == "3 words and 15 characters");
  CHECK(done_of(plan("Count the characters in 'héllo wörld'")).content
        == "The text \"héllo wörld\" has 2 words and 11 characters.");
}

TEST_CASE("text_stats counts the whole question when nothing is quoted") {
  auto events = plan("How many words are in this question?");
  CHECK(done_of(events).content
        == "Your question has 7 words and 36 characters.");
}

TEST_CASE("a quoted text to count does not trigger other tools") {
  auto events = plan("How many characters are in \"1+1 at noon time\"?");
  CHECK(step_types(events)
        == std::vector<std::string>{"thought", "action", "observation"});
}

TEST_CASE("a question that needs two tools runs both in order") {
  auto events = plan("What time is it and what is 2+2?");
  auto steps = of_kind(events, event_kind::reasoning_step);
  REQUIRE(steps.size() == 6);
  CHECK(steps[1].content == "clock()");
  CHECK(steps[1].iteration == 1);
  CHECK(steps[4].content == "calculator(2+2)");
  CHECK(steps[4].iteration == 2);
  CHECK(done_of(events).content
        == "The current time is " + to_iso8601(now_ms) + " (UTC). 2+2 = 4.");
}

TEST_CASE("an unanswerable question gets an honest answer and no action") {
  auto events = plan("Who won the 1998 World Cup?");
  auto& done = done_of(events);
  CHECK(contains(done.content, "I can't answer that"));
  CHECK(contains(done.content, "researcher agent"));
  CHECK(step_types(events) == std::vector<std::string>{"thought"});
  CHECK(of_kind(events, event_kind::reasoning_step).front().content
        == "No tool I have (calculator, clock, text_stats) answers this "
           "question.");
}

TEST_CASE("usage counts question words and answer chunks") {
  auto events = plan("What is (17+4)*3?");
  auto& usage = done_of(events).usage;
  CHECK(usage.prompt_tokens == 3);
  CHECK(usage.completion_tokens == 3); // "(17+4)*3 ", "= ", "63."
  CHECK(usage.completion_tokens == answer_chunks(events).size());
  CHECK(usage.total_tokens == 6);
}

TEST_CASE("an empty question still yields a complete plan") {
  auto events = plan("");
  CHECK(events.front().kind == event_kind::reasoning_start);
  CHECK(done_of(events).usage.prompt_tokens == 0);
  CHECK_FALSE(answer_chunks(events).empty());
}

// The built-in researcher agent. It picks its tools from the wording of the
// question (case-insensitive), runs each one, and turns the results into the
// fixed event plan described in researcher.hpp:
//
//   question -> choose_tools -> [tool_use...] -> plan events
//
// Tools: calculator (an arithmetic expression in the question), clock (the
// words time/date/clock or "what day"), text_stats ("how many words", "count
// the characters", ...). When text_stats has a quoted text to count, that
// text is data, so it is hidden from the calculator and clock triggers.
#include "actors/agents/researcher.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "actors/agents/calculator.hpp"
#include "protocol/ids.hpp"

namespace parley {

namespace {

/// One tool use: the three reasoning steps and what it adds to the answer.
struct tool_use {
  size_t position = 0; ///< where the question asks for it, to answer in order
  std::string thought;
  std::string action;
  std::string observation;
  std::string answer;  ///< one or two sentences of the final answer
  std::string summary; ///< e.g. "calculator: (17+4)*3 = 63"
};

/// A quoted span of the question: [begin, end) includes the quote marks.
struct quoted_span {
  size_t begin = 0;
  size_t end = 0;
  std::string_view inner;
};

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

std::string to_lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

uint32_t count_words(std::string_view text) {
  uint32_t words = 0;
  bool in_word = false;
  for (char c : text) {
    if (!is_space(c) && !in_word)
      ++words;
    in_word = !is_space(c);
  }
  return words;
}

/// UTF-8 code points: every byte that is not a continuation byte.
size_t count_code_points(std::string_view text) {
  return static_cast<size_t>(
    std::count_if(text.begin(), text.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

/// `text` cut to `max` code points with an ellipsis, so a long pasted text
/// is not echoed back whole.
std::string excerpt(std::string_view text, size_t max = 60) {
  size_t points = 0;
  for (size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && ++points > max)
      return std::string{text.substr(0, i)} + "…";
  return std::string{text};
}

std::string plural(size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

/// The first position of `word` in `lower` as a whole word, or npos.
size_t find_word(std::string_view lower, std::string_view word) {
  for (size_t at = lower.find(word); at != std::string_view::npos;
       at = lower.find(word, at + 1)) {
    size_t after = at + word.size();
    bool starts = at == 0 || !is_alnum(lower[at - 1]);
    bool ends = after == lower.size() || !is_alnum(lower[after]);
    if (starts && ends)
      return at;
  }
  return std::string_view::npos;
}

/// The first position of any of `phrases` in `lower`, or npos.
template<size_t N>
size_t find_any(std::string_view lower, const std::string_view (&phrases)[N]) {
  size_t first = std::string_view::npos;
  for (auto phrase : phrases)
    first = std::min(first, find_word(lower, phrase));
  return first;
}

/// The first "double-quoted" span, else the first 'single-quoted' one. A
/// single quote only opens after a non-letter and only closes before one,
/// so the apostrophes in "what's" or "don't" are not quotes.
std::optional<quoted_span> find_quoted(std::string_view text) {
  if (auto open = text.find('"'); open != std::string_view::npos)
    if (auto close = text.find('"', open + 1); close != std::string_view::npos)
      return quoted_span{open, close + 1,
                         text.substr(open + 1, close - open - 1)};
  for (size_t open = 0; open < text.size(); ++open) {
    if (text[open] != '\'' || (open > 0 && is_alnum(text[open - 1])))
      continue;
    for (size_t close = open + 1; close < text.size(); ++close)
      if (text[close] == '\''
          && (close + 1 == text.size() || !is_alnum(text[close + 1])))
        return quoted_span{open, close + 1,
                           text.substr(open + 1, close - open - 1)};
  }
  return std::nullopt;
}

// -- the tools ----------------------------------------------------------------

std::optional<tool_use> use_calculator(std::string_view text) {
  auto expr = find_arithmetic(text);
  if (!expr)
    return std::nullopt;
  tool_use use;
  use.position = text.find(*expr);
  use.thought = "The question contains the arithmetic expression " + *expr
                + "; I will evaluate it with the calculator.";
  use.action = "calculator(" + *expr + ")";
  auto result = evaluate_arithmetic(*expr);
  if (result.ok) {
    auto value = format_number(result.value);
    use.observation = value;
    use.answer = *expr + " = " + value + ".";
    use.summary = "calculator: " + *expr + " = " + value;
  } else {
    use.observation = "error: " + result.error;
    use.answer = "I could not evaluate " + *expr + ": " + result.error + ".";
    use.summary = "calculator: " + *expr + " failed (" + result.error + ")";
  }
  return use;
}

std::optional<tool_use> use_clock(std::string_view lower, int64_t now_ms) {
  static constexpr std::string_view triggers[]
    = {"time", "date", "clock", "what day"};
  size_t at = find_any(lower, triggers);
  if (at == std::string_view::npos)
    return std::nullopt;
  auto now = to_iso8601(now_ms);
  tool_use use;
  use.position = at;
  use.thought = "The question asks for the current date or time; I will read "
                "the clock.";
  use.action = "clock()";
  use.observation = now;
  use.answer = "The current time is " + now + " (UTC).";
  use.summary = "clock: " + now;
  return use;
}

/// Counts the quoted text when there is one, else the whole question.
tool_use use_text_stats(size_t position, std::string_view question,
                        const std::optional<quoted_span>& quoted,
                        bool asked_for_letters) {
  auto text = quoted ? quoted->inner : question;
  auto counts = plural(count_words(text), "word") + " and "
                + plural(count_code_points(text), "character");
  tool_use use;
  use.position = position;
  use.thought = std::string{"The question asks me to count words and "
                            "characters in "}
                + (quoted ? "the quoted text" : "the question itself")
                + "; I will use text_stats.";
  use.action = "text_stats(\"" + excerpt(text) + "\")";
  use.observation = counts;
  use.answer = (quoted ? "The text \"" + excerpt(text) + "\" has "
                       : std::string{"Your question has "})
               + counts + ".";
  if (asked_for_letters)
    use.answer += " I counted every character, spaces and punctuation "
                  "included, not only letters.";
  use.summary = "text_stats: " + counts;
  return use;
}

/// Every tool the question asks for, in the order it asks.
std::vector<tool_use> choose_tools(const agent_input& input) {
  static constexpr std::string_view count_triggers[] = {
    "how many words",       "how many characters", "how many letters",
    "how many chars",       "count the words",     "count the characters",
    "count the letters",    "count words",         "count characters",
    "word count",           "character count",     "number of words",
    "number of characters",
  };
  auto lower = to_lower(input.question);
  std::vector<tool_use> uses;
  std::string instructions = input.question;
  if (size_t at = find_any(lower, count_triggers);
      at != std::string_view::npos) {
    auto quoted = find_quoted(input.question);
    bool letters = lower.find("letters") != std::string::npos;
    uses.push_back(use_text_stats(at, input.question, quoted, letters));
    if (quoted) // blank it out: positions stay, the data triggers nothing
      std::fill(instructions.begin() + quoted->begin,
                instructions.begin() + quoted->end, ' ');
  }
  if (auto use = use_calculator(instructions))
    uses.push_back(std::move(*use));
  if (auto use = use_clock(to_lower(instructions), input.now_ms))
    uses.push_back(std::move(*use));
  std::stable_sort(uses.begin(), uses.end(), [](const auto& x, const auto& y) {
    return x.position < y.position;
  });
  return uses;
}

// -- the event plan -----------------------------------------------------------

constexpr std::string_view no_tool_thought
  = "No tool I have (calculator, clock, text_stats) answers this question.";

constexpr std::string_view no_tool_answer
  = "I can't answer that: I am the built-in researcher agent, and I can only "
    "do arithmetic, tell the current time, and count words and characters. "
    "Try e.g. \"What is (17+4)*3?\"";

// No time here: agent_run stamps each event when it sends it.
run_event make_event(event_kind kind) {
  run_event ev;
  ev.kind = kind;
  return ev;
}

run_event stage_event(const char* stage, const char* status) {
  auto ev = make_event(event_kind::stage_update);
  ev.stage = stage;
  ev.status = status;
  return ev;
}

run_event step_event(const char* type, std::string content,
                     uint32_t iteration) {
  auto ev = make_event(event_kind::reasoning_step);
  ev.step_type = type;
  ev.content = std::move(content);
  ev.iteration = iteration;
  return ev;
}

void append_steps(std::vector<run_event>& plan,
                  const std::vector<tool_use>& uses) {
  if (uses.empty()) {
    plan.push_back(step_event("thought", std::string{no_tool_thought}, 1));
    return;
  }
  uint32_t iteration = 0;
  for (const auto& use : uses) {
    ++iteration;
    plan.push_back(step_event("thought", use.thought, iteration));
    plan.push_back(step_event("action", use.action, iteration));
    plan.push_back(step_event("observation", use.observation, iteration));
  }
}

/// One chunk per word; each keeps the whitespace after it, so the chunks
/// concatenate to exactly `answer`. Returns the number of chunks.
uint32_t append_chunks(std::vector<run_event>& plan, std::string_view answer) {
  uint32_t chunks = 0;
  size_t start = 0;
  while (start < answer.size()) {
    size_t end = start;
    while (end < answer.size() && !is_space(answer[end]))
      ++end;
    while (end < answer.size() && is_space(answer[end]))
      ++end;
    auto ev = make_event(event_kind::chunk);
    ev.content = std::string{answer.substr(start, end - start)};
    plan.push_back(std::move(ev));
    ++chunks;
    start = end;
  }
  if (chunks > 0)
    plan.back().final_chunk = true;
  return chunks;
}

std::string join(const std::vector<tool_use>& uses,
                 std::string tool_use::*member, const char* separator) {
  std::string out;
  for (const auto& use : uses)
    out += (out.empty() ? "" : separator) + use.*member;
  return out;
}

} // namespace

std::vector<run_event> plan_researcher(const agent_input& input) {
  auto uses = choose_tools(input);
  auto answer = uses.empty() ? std::string{no_tool_answer}
                             : join(uses, &tool_use::answer, " ");
  auto thinking = uses.empty()
                    ? std::string{no_tool_thought}
                    : "Used " + join(uses, &tool_use::summary, "; ") + ".";
  std::vector<run_event> plan;
  // Eight framing events, up to four steps per tool, and the chunks: one
  // allocation for a typical plan instead of a regrowth every few events.
  plan.reserve(16 + 4 * uses.size());
  auto start = make_event(event_kind::reasoning_start);
  start.agent = "researcher";
  start.message = input.question;
  start.enable_reasoning = input.enable_reasoning;
  plan.push_back(std::move(start));
  plan.push_back(stage_event("reasoning", "started"));
  if (input.enable_reasoning)
    append_steps(plan, uses);
  plan.push_back(stage_event("reasoning", "completed"));
  plan.push_back(stage_event("responding", "started"));
  if (input.enable_reasoning) {
    auto ev = make_event(event_kind::chunk);
    ev.content = thinking;
    ev.thinking = true;
    plan.push_back(std::move(ev));
  }
  auto words = append_chunks(plan, answer);
  plan.push_back(make_event(event_kind::reasoning_complete));
  plan.push_back(stage_event("responding", "completed"));
  auto done = make_event(event_kind::done);
  done.content = answer;
  if (input.enable_reasoning)
    done.thinking_text = thinking;
  done.usage.prompt_tokens = count_words(input.question);
  done.usage.completion_tokens = words;
  done.usage.total_tokens = done.usage.prompt_tokens + words;
  plan.push_back(std::move(done));
  return plan;
}

const std::vector<tool_info>& researcher_tools() {
  static const std::vector<tool_info> tools = {
    {"calculator",
     "arithmetic with + - * / ^, parentheses and decimals, with the usual "
     "precedence",
     "What is (17+4)*3?"},
    {"clock", "the current date and time in UTC", "What time is it?"},
    {"text_stats", "counts the words and characters of a quoted text",
     "How many words are in \"to be or not to be\"?"},
  };
  return tools;
}

} // namespace parley

// The calculator tool: a recursive-descent evaluator, and the scan that finds
// an expression inside a sentence. Grammar, lowest precedence first:
//
//   expr    = term {("+" | "-") term}
//   term    = factor {("*" | "/" | "%") factor}
//   factor  = unary ["^" factor]        (right-associative power)
//   unary   = ("-" | "+") unary | primary
//   primary = number | "(" expr ")"
//
// Because the sign binds tighter than "^", -2^2 is (-2)^2 = 4, as in most
// spreadsheets. The parser evaluates as it goes. A syntax error stops it; an
// arithmetic error (division by zero, overflow) is remembered while parsing
// goes on, so a malformed expression reports its syntax error first and
// find_arithmetic can tell "does not parse" from "parses but has no value".
#include "actors/agents/calculator.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace parley {

namespace {

/// Each parenthesis, sign and power nests one level. 64 is far beyond any
/// real question and keeps the recursion to a few hundred stack frames.
constexpr int max_depth = 64;

/// Runs longer than this are not searched for a shorter valid expression:
/// the search parses O(n^2) substrings, so hostile text must not reach it.
constexpr size_t max_fallback_run = 64;

bool is_digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

struct parse_outcome {
  calc_result result;
  bool parsed = false; ///< the syntax is valid, even if the value is an error
  int binary_ops = 0;  ///< binary operators applied; 0 for "-5" or "(7)"
};

class parser {
 public:
  explicit parser(std::string_view text) : text_(text) {}

  parse_outcome run();

 private:
  double expr();
  double term();
  double factor();
  double unary();
  double primary();
  double number();
  double apply(char op, double lhs, double rhs);

  bool failed() const { return !syntax_error_.empty(); }

  bool at_end() const { return pos_ >= text_.size(); }

  /// The next non-space character, or '\0' at the end.
  char peek() {
    while (!at_end() && text_[pos_] == ' ')
      ++pos_;
    return at_end() ? '\0' : text_[pos_];
  }

  void fail(std::string message) {
    if (!failed())
      syntax_error_ = std::move(message);
  }

  void note(const char* message) {
    if (eval_error_.empty())
      eval_error_ = message;
  }

  bool enter() {
    if (++depth_ <= max_depth)
      return true;
    fail("expression nested too deeply");
    return false;
  }

  void fail_unexpected();

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
  int binary_ops_ = 0;
  std::string syntax_error_;
  std::string eval_error_;
};

parse_outcome parser::run() {
  parse_outcome out;
  peek(); // skips leading spaces
  if (at_end()) {
    out.result.error = "empty expression";
    return out;
  }
  double value = expr();
  if (!failed() && peek() == ')')
    fail("unbalanced parentheses");
  else if (!failed() && !at_end())
    fail_unexpected();
  if (failed()) {
    out.result.error = syntax_error_;
    return out;
  }
  out.parsed = true;
  out.binary_ops = binary_ops_;
  if (eval_error_.empty() && !std::isfinite(value))
    note("result is not a finite number");
  if (!eval_error_.empty()) {
    out.result.error = eval_error_;
    return out;
  }
  out.result.ok = true;
  out.result.value = value == 0 ? 0.0 : value; // no "-0"
  return out;
}

double parser::expr() {
  double lhs = term();
  for (char op = peek(); !failed() && (op == '+' || op == '-'); op = peek()) {
    ++pos_;
    double rhs = term();
    if (!failed())
      lhs = apply(op, lhs, rhs);
  }
  return lhs;
}

double parser::term() {
  double lhs = factor();
  for (char op = peek(); !failed() && (op == '*' || op == '/' || op == '%');
       op = peek()) {
    ++pos_;
    double rhs = factor();
    if (!failed())
      lhs = apply(op, lhs, rhs);
  }
  return lhs;
}

double parser::factor() {
  double base = unary();
  if (failed() || peek() != '^')
    return base;
  ++pos_;
  if (!enter())
    return 0;
  double exponent = factor(); // recursion makes 2^3^2 = 2^(3^2)
  --depth_;
  return failed() ? 0 : apply('^', base, exponent);
}

double parser::unary() {
  char sign = peek();
  if (sign != '-' && sign != '+')
    return primary();
  ++pos_;
  if (!enter())
    return 0;
  double value = unary();
  --depth_;
  return sign == '-' ? -value : value;
}

double parser::primary() {
  char c = peek();
  if (at_end()) {
    fail("unexpected end of expression");
    return 0;
  }
  if (c != '(')
    return number();
  ++pos_;
  if (!enter())
    return 0;
  double value = expr();
  --depth_;
  if (failed())
    return 0;
  if (peek() == ')') {
    ++pos_;
    return value;
  }
  if (at_end())
    fail("unbalanced parentheses");
  else
    fail_unexpected();
  return 0;
}

double parser::number() {
  size_t start = pos_;
  size_t digits = 0;
  for (; !at_end() && is_digit(text_[pos_]); ++pos_)
    ++digits;
  if (!at_end() && text_[pos_] == '.')
    for (++pos_; !at_end() && is_digit(text_[pos_]); ++pos_)
      ++digits;
  if (digits == 0) {
    pos_ = start;
    fail_unexpected();
    return 0;
  }
  double value = 0;
  auto parsed = std::from_chars(text_.data() + start, text_.data() + pos_,
                                value, std::chars_format::fixed);
  if (parsed.ec == std::errc::result_out_of_range) {
    // Digits before the point overflow; digits only after it underflow to 0.
    auto literal = text_.substr(start, pos_ - start);
    if (literal.substr(0, literal.find('.')).find_first_not_of('0')
        != std::string_view::npos)
      note("result is not a finite number");
    return 0;
  }
  return value;
}

double parser::apply(char op, double lhs, double rhs) {
  ++binary_ops_;
  double value = 0;
  switch (op) {
    case '+': value = lhs + rhs; break;
    case '-': value = lhs - rhs; break;
    case '*': value = lhs * rhs; break;
    case '^': value = std::pow(lhs, rhs); break;
    default: // '/' and '%'
      if (rhs == 0) {
        note("division by zero");
        return 0;
      }
      value = op == '/' ? lhs / rhs : std::fmod(lhs, rhs);
  }
  if (!std::isfinite(value)) {
    note("result is not a finite number");
    return 0;
  }
  return value;
}

void parser::fail_unexpected() {
  // Quote a whole UTF-8 sequence, and control bytes as \xNN, so the message
  // stays readable whatever the user typed.
  auto lead = static_cast<unsigned char>(text_[pos_]);
  size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  std::string shown;
  if (lead < 0x20 || lead == 0x7F || (lead >= 0x80 && lead < 0xC0)) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "\\x%02x", lead);
    shown = buf;
  } else {
    shown = std::string{text_.substr(pos_, len)};
  }
  fail("unexpected character '" + shown + "' at position "
       + std::to_string(pos_ + 1));
}

// -- finding an expression in prose ------------------------------------------

bool is_expression_char(char c) {
  return is_digit(c) || (c != '\0' && std::strchr(".+-*/%^() ", c) != nullptr);
}

/// Drops what cannot begin or end an expression: spaces, dangling operators,
/// a full stop, and parentheses left unmatched by the surrounding prose.
std::string_view clean(std::string_view s) {
  auto opens = std::count(s.begin(), s.end(), '(');
  auto closes = std::count(s.begin(), s.end(), ')');
  while (!s.empty()) {
    char first = s.front();
    char last = s.back();
    bool lone_point = first == '.' && (s.size() < 2 || !is_digit(s[1]));
    if (first == ' ' || std::strchr("*/%^)", first) != nullptr || lone_point
        || (first == '(' && opens > closes)) {
      opens -= first == '(';
      closes -= first == ')';
      s.remove_prefix(1);
    } else if (std::strchr(" +-*/%^(.", last) != nullptr
               || (last == ')' && closes > opens)) {
      opens -= last == '(';
      closes -= last == ')';
      s.remove_suffix(1);
    } else {
      break;
    }
  }
  return s;
}

/// An expression worth a calculator: it parses and combines two operands.
bool qualifies(std::string_view s) {
  if (s.empty() || std::none_of(s.begin(), s.end(), is_digit))
    return false;
  auto out = parser{s}.run();
  return out.parsed && out.binary_ops > 0;
}

/// The longest expression in one run of expression characters.
std::string_view best_in_run(std::string_view run) {
  if (std::none_of(run.begin(), run.end(), is_digit))
    return {};
  if (auto whole = clean(run); qualifies(whole))
    return whole;
  if (run.size() > max_fallback_run)
    return {};
  // E.g. "5 + (2 * 3": try shorter pieces, longest first.
  for (size_t len = run.size() - 1; len >= 3; --len)
    for (size_t start = 0; start + len <= run.size(); ++start) {
      auto piece = run.substr(start, len);
      if (piece.front() != ' ' && piece.back() != ' ' && qualifies(piece))
        return piece;
    }
  return {};
}

} // namespace

calc_result evaluate_arithmetic(std::string_view expression) {
  return parser{expression}.run().result;
}

std::optional<std::string> find_arithmetic(std::string_view text) {
  std::string_view best;
  size_t i = 0;
  while (i < text.size()) {
    if (!is_expression_char(text[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && is_expression_char(text[end]))
      ++end;
    // A number glued to a letter belongs to a word we cannot read ("1e308",
    // "x2", "3rd"): leave it out rather than compute with half of it.
    auto glued = [&](size_t at) {
      return at < text.size()
             && std::isalpha(static_cast<unsigned char>(text[at]));
    };
    size_t from = i;
    if (i > 0 && glued(i - 1))
      while (from < end && (is_digit(text[from]) || text[from] == '.'))
        ++from;
    size_t to = end;
    if (glued(end))
      while (to > from && (is_digit(text[to - 1]) || text[to - 1] == '.'))
        --to;
    auto found = best_in_run(text.substr(from, to - from));
    if (found.size() > best.size())
      best = found;
    i = end;
  }
  if (best.empty())
    return std::nullopt;
  return std::string{best};
}

std::string format_number(double value) {
  char buf[64];
  if (value == 0) // also turns -0 into "0"
    return "0";
  if (std::trunc(value) == value && std::fabs(value) < 1e21) {
    std::snprintf(buf, sizeof(buf), "%.0f", value);
    return buf;
  }
  if (std::fabs(value) < 1 || std::fabs(value) >= 1e21
      || !std::isfinite(value)) {
    // Six significant digits keep small values (0.333333, 0.00012345) and
    // print huge ones as 1e+300 rather than 301 digits.
    std::snprintf(buf, sizeof(buf), "%.6g", value);
    return buf;
  }
  std::snprintf(buf, sizeof(buf), "%.6f", value);
  std::string text = buf;
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.')
    text.pop_back();
  return text;
}

} // namespace parley

// Arithmetic for the researcher's calculator tool: + - * / % ^, unary minus,
// parentheses, decimals, with the usual precedence. A recursive-descent
// parser with a depth cap, so hostile input cannot overflow the stack.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace parley {

struct calc_result {
  bool ok = false;
  double value = 0;
  std::string error; ///< e.g. "division by zero", when !ok
};

/// Evaluates `expression`, e.g. "(17+4)*3" -> 63.
calc_result evaluate_arithmetic(std::string_view expression);

/// The longest arithmetic expression inside free text, e.g. "(17+4)*3" from
/// "What is (17+4)*3?"; nothing when the text holds no operator between
/// numbers.
std::optional<std::string> find_arithmetic(std::string_view text);

/// `value` as a human would write it: 63, 2.5, 0.333333.
std::string format_number(double value);

} // namespace parley

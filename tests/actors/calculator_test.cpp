// The calculator tool: evaluation, error messages, and finding an expression
// inside a sentence.
#include <string>

#include <catch2/catch.hpp>

#include "actors/agents/calculator.hpp"

using namespace parley;

namespace {

double value_of(std::string_view expression) {
  auto result = evaluate_arithmetic(expression);
  INFO("expression: " << expression << ", error: " << result.error);
  REQUIRE(result.ok);
  return result.value;
}

std::string error_of(std::string_view expression) {
  auto result = evaluate_arithmetic(expression);
  INFO("expression: " << expression);
  REQUIRE_FALSE(result.ok);
  return result.error;
}

} // namespace

TEST_CASE("multiplication binds tighter than addition") {
  CHECK(value_of("2+3*4") == 14);
  CHECK(value_of("2*3+4") == 10);
  CHECK(value_of("10-4-3") == 3);
  CHECK(value_of("100/10/5") == 2);
  CHECK(value_of("17 % 5 * 2") == 4);
}

TEST_CASE("parentheses override precedence") {
  CHECK(value_of("(17+4)*3") == 63);
  CHECK(value_of("((2))") == 2);
  CHECK(value_of(" ( 1 + 2 ) * ( 3 + 4 ) ") == 21);
}

TEST_CASE("unary minus and plus apply to the following operand") {
  CHECK(value_of("-7") == -7);
  CHECK(value_of("--7") == 7);
  CHECK(value_of("3 - -2") == 5);
  CHECK(value_of("-(2+3)*2") == -10);
  CHECK(value_of("+4") == 4);
  CHECK(value_of("2^-1") == 0.5);
}

TEST_CASE("power is right-associative and binds tighter than multiplication") {
  CHECK(value_of("2^3^2") == 512);
  CHECK(value_of("2*3^2") == 18);
  CHECK(value_of("(2^3)^2") == 64);
}

TEST_CASE("decimals evaluate with floating point") {
  CHECK(value_of("2.5*2") == 5);
  CHECK(value_of(".5+.25") == Approx(0.75));
  CHECK(value_of("0.1+0.2") == Approx(0.3));
  CHECK(value_of("7.5 % 2") == Approx(1.5));
}

TEST_CASE("dividing by zero is an error, not infinity") {
  CHECK(error_of("1/0") == "division by zero");
  CHECK(error_of("5/(3-3)") == "division by zero");
}

TEST_CASE("modulo by zero is reported as a division by zero") {
  CHECK(error_of("5%0") == "division by zero");
}

TEST_CASE("unbalanced parentheses are reported") {
  CHECK(error_of("(1+2") == "unbalanced parentheses");
  CHECK(error_of("1+2)") == "unbalanced parentheses");
  CHECK(error_of("((1+2)") == "unbalanced parentheses");
}

TEST_CASE("unexpected characters are reported with their position") {
  CHECK(error_of("2+x") == "unexpected character 'x' at position 3");
  CHECK(error_of("1 2") == "unexpected character '2' at position 3");
  CHECK(error_of("3×4") == "unexpected character '×' at position 2");
  CHECK(error_of("1+") == "unexpected end of expression");
}

TEST_CASE("an empty or blank expression is an error") {
  CHECK(error_of("") == "empty expression");
  CHECK(error_of("   ") == "empty expression");
}

TEST_CASE("results that are not finite numbers are errors") {
  CHECK(error_of("10^400") == "result is not a finite number");
  CHECK(error_of("(0-8)^0.5") == "result is not a finite number");
}

TEST_CASE("a syntax error wins over an arithmetic error") {
  CHECK(error_of("1/0 + (") == "unexpected end of expression");
}

TEST_CASE("deep nesting is refused instead of overflowing the stack") {
  CHECK(value_of(std::string(64, '(') + "1" + std::string(64, ')')) == 1);
  auto deep = std::string(10000, '(') + "1" + std::string(10000, ')');
  CHECK(error_of(deep) == "expression nested too deeply");
  CHECK(error_of(std::string(10000, '(')) == "expression nested too deeply");
  CHECK(error_of(std::string(10000, '-') + "1")
        == "expression nested too deeply");
  std::string tower = "2";
  for (int i = 0; i < 10000; ++i)
    tower += "^2";
  CHECK(error_of(tower) == "expression nested too deeply");
}

TEST_CASE("long flat expressions are not limited by the depth cap") {
  std::string sum = "1";
  for (int i = 0; i < 10000; ++i)
    sum += "+1";
  CHECK(value_of(sum) == 10001);
}

TEST_CASE("find_arithmetic extracts the expression from a question") {
  auto expr = find_arithmetic("What is (17+4)*3?");
  REQUIRE(expr);
  CHECK(*expr == "(17+4)*3");
  CHECK(value_of(*expr) == 63);
}

TEST_CASE("find_arithmetic trims surrounding words and spaces") {
  CHECK(find_arithmetic("compute 2 + 3 * 4 please") == "2 + 3 * 4");
  CHECK(find_arithmetic("what's 12/4.") == "12/4");
  CHECK(find_arithmetic("(tell me 6*7)") == "6*7");
  CHECK(find_arithmetic("is it -3+5, right?") == "-3+5");
}

TEST_CASE("find_arithmetic drops parentheses left unmatched by the prose") {
  CHECK(find_arithmetic("(what is (2+3)*4)") == "(2+3)*4");
  CHECK(find_arithmetic("take 5 + (2 * 3 and stop") == "2 * 3");
}

TEST_CASE("find_arithmetic prefers the longest expression") {
  CHECK(find_arithmetic("first 1+1, then 10 * (3 + 4) - 2")
        == "10 * (3 + 4) - 2");
}

TEST_CASE("find_arithmetic ignores plain numbers") {
  CHECK_FALSE(find_arithmetic("I was born in 1990"));
  CHECK_FALSE(find_arithmetic("in 2024 we had 3.5 days and -4 degrees"));
  CHECK_FALSE(find_arithmetic("no numbers here at all"));
  CHECK_FALSE(find_arithmetic(""));
  CHECK_FALSE(find_arithmetic("(7)"));
}

TEST_CASE("find_arithmetic survives hostile input") {
  auto deep = std::string(10000, '(') + "1+1" + std::string(10000, ')');
  CHECK_FALSE(find_arithmetic(deep));
  CHECK_FALSE(find_arithmetic(std::string(10000, '(')));
  CHECK(find_arithmetic(std::string(10000, '(') + "1+1") == "1+1");
}

TEST_CASE("format_number writes integers without decimals") {
  CHECK(format_number(63) == "63");
  CHECK(format_number(-7) == "-7");
  CHECK(format_number(1000000) == "1000000");
  CHECK(format_number(0) == "0");
  CHECK(format_number(-0.0) == "0");
}

TEST_CASE("format_number writes fractions without trailing zeros") {
  CHECK(format_number(2.5) == "2.5");
  CHECK(format_number(1.0 / 3) == "0.333333");
  CHECK(format_number(0.1 + 0.2) == "0.3");
  CHECK(format_number(-1234.5678) == "-1234.5678");
  CHECK(format_number(0.00012345) == "0.00012345");
}

TEST_CASE("find_arithmetic leaves numbers glued to words alone") {
  // "1e308" is one number we do not parse; computing "308*10" from it would
  // be a confident wrong answer.
  CHECK_FALSE(find_arithmetic("What is 1e308*10?").has_value());
  CHECK_FALSE(find_arithmetic("what is x2+3y").has_value());
  CHECK(find_arithmetic("the 3rd of 4 + 5") == "4 + 5");
  CHECK(find_arithmetic("What is 2*3?") == "2*3");
}

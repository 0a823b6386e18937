#include <caf/message.hpp>
#include <caf/sec.hpp>

#include "actors/interfaces.hpp"

namespace parley {

// CAF reads error code 0 as "no error", and bad_json is 0: codes cross actor
// boundaries shifted by one.
uint8_t to_caf_code(error_code code) {
  return static_cast<uint8_t>(static_cast<uint8_t>(code) + 1);
}

error_code from_caf_code(uint8_t code) {
  return static_cast<error_code>(code - 1);
}

caf::error make_error(error_code code, std::string context) {
  return caf::error{to_caf_code(code), error_category,
                    caf::make_message(std::move(context))};
}

caf::error make_error(error_code code, std::string message, std::string field) {
  return caf::error{to_caf_code(code), error_category,
                    caf::make_message(std::move(message), std::move(field))};
}

std::string error_message(const caf::error& err) {
  if (err.category() == error_category) {
    auto& ctx = err.context();
    if (ctx.size() >= 1 && ctx.match_element<std::string>(0))
      return ctx.get_as<std::string>(0);
    return std::string{to_string(from_caf_code(err.code()))};
  }
  if (err == caf::sec::request_timeout)
    return "no answer in time: the store or an actor is overloaded or down";
  return caf::to_string(err);
}

std::string error_field(const caf::error& err) {
  if (err.category() == error_category && err.context().size() >= 2
      && err.context().match_element<std::string>(1))
    return err.context().get_as<std::string>(1);
  return {};
}

caf::error make_retry_error(error_code code, std::string message,
                            int64_t retry_after_s) {
  return caf::error{
    to_caf_code(code), error_category,
    caf::make_message(std::move(message), std::string{}, retry_after_s)};
}

int64_t retry_after_of(const caf::error& err) {
  if (err.category() == error_category
      && err.context().match_elements<std::string, std::string, int64_t>())
    return err.context().get_as<int64_t>(2);
  return 0;
}

error_code to_error_code(const caf::error& err) {
  if (err.category() == error_category)
    return from_caf_code(err.code());
  if (err == caf::sec::request_timeout)
    return error_code::storage_unavailable;
  return error_code::internal;
}

} // namespace parley

#include <caf/sec.hpp>

#include "actors/interfaces.hpp"

namespace parley {

caf::error make_error(error_code code, std::string context) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(context))};
}

error_code to_error_code(const caf::error& err) {
  if (err.category() == error_category)
    return static_cast<error_code>(err.code());
  if (err == caf::sec::request_timeout)
    return error_code::storage_unavailable;
  return error_code::internal;
}

} // namespace parley

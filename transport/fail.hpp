// One place that decides which socket errors are worth a warning. Peers that
// hang up, time out or are closed by us are routine and logged at debug.
#pragma once

#include <boost/system/error_code.hpp>

#include "actors/options.hpp"

namespace parley {

/// True for the errors a healthy server sees all day: disconnects, resets,
/// timeouts and operations we cancelled ourselves.
bool is_routine(const boost::system::error_code& ec) noexcept;

/// Logs `ec` from operation `what` at debug (routine) or warn level.
void fail(const logger_ptr& log, const boost::system::error_code& ec,
          const char* what);

} // namespace parley

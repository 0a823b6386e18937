#include "transport/fail.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <spdlog/spdlog.h>

namespace net = boost::asio;
namespace beast = boost::beast;

namespace parley {

bool is_routine(const boost::system::error_code& ec) noexcept {
  return ec == net::error::operation_aborted || ec == net::error::eof
         || ec == net::error::connection_reset || ec == net::error::broken_pipe
         || ec == net::error::not_connected || ec == beast::error::timeout
         || ec == beast::http::error::end_of_stream
         || ec == beast::websocket::error::closed;
}

void fail(const logger_ptr& log, const boost::system::error_code& ec,
          const char* what) {
  if (is_routine(ec))
    log->debug("{}: {}", what, ec.message());
  else
    log->warn("{}: {}", what, ec.message());
}

} // namespace parley

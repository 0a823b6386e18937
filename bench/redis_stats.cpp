#include "redis_stats.hpp"

#include <algorithm>
#include <sstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace parley::bench {

namespace {

/// The bulk string INFO answers with ("$LEN\r\n...\r\n"), or "".
std::string info_text(const std::string& host, uint16_t port) {
  try {
    net::io_context ioc;
    tcp::socket sock{ioc};
    sock.connect({net::ip::make_address(host), port});
    net::write(
      sock, net::buffer(std::string_view{"*2\r\n$4\r\nINFO\r\n$3\r\nall\r\n"}));
    net::streambuf buf;
    auto n = net::read_until(sock, buf, "\r\n");
    std::string head(n, '\0');
    buf.sgetn(head.data(), static_cast<std::streamsize>(n));
    if (head.empty() || head[0] != '$')
      return {};
    auto len = std::stoull(head.substr(1));
    if (buf.size() < len + 2)
      net::read(sock, buf, net::transfer_exactly(len + 2 - buf.size()));
    std::string body(len, '\0');
    buf.sgetn(body.data(), static_cast<std::streamsize>(len));
    return body;
  } catch (const std::exception&) {
    return {};
  }
}

uint64_t number_after(const std::string& line, const std::string& key) {
  auto p = line.find(key);
  return p == std::string::npos ? 0 : std::stoull(line.substr(p + key.size()));
}

} // namespace

redis_snapshot read_redis_info(const std::string& host, uint16_t port) {
  redis_snapshot snap;
  std::istringstream in{info_text(host, port)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    snap.ok = true;
    // cmdstat_evalsha:calls=12,usec=34,...
    if (line.rfind("cmdstat_", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto name = line.substr(8, colon - 8);
        snap.calls[name] = number_after(line, "calls=");
        snap.usec[name] = number_after(line, "usec=");
      }
    } else if (line.rfind("total_commands_processed:", 0) == 0) {
      snap.total_commands = number_after(line, ":");
    } else if (line.rfind("total_reads_processed:", 0) == 0) {
      snap.reads = number_after(line, ":");
    } else if (line.rfind("used_cpu_user:", 0) == 0
               || line.rfind("used_cpu_sys:", 0) == 0) {
      snap.cpu_s += std::stod(line.substr(line.find(':') + 1));
    } else if (line.rfind("used_memory_rss:", 0) == 0) {
      snap.used_memory_rss = static_cast<int64_t>(number_after(line, ":"));
    }
  }
  return snap;
}

void write_redis_delta(json_writer& w, const redis_snapshot& a,
                       const redis_snapshot& b, uint64_t runs) {
  w.Key("redis");
  w.StartObject();
  w.Key("read");
  w.Bool(a.ok && b.ok);
  uint64_t total = 0, info_calls = 0;
  auto per_run = [runs](uint64_t n) {
    return runs > 0 ? static_cast<double>(n) / runs : 0.0;
  };
  w.Key("by_command");
  w.StartObject();
  for (auto& [name, calls] : b.calls) {
    auto it = a.calls.find(name);
    auto n = calls - (it == a.calls.end() ? 0 : it->second);
    // Our own readings are the only INFO calls; leave them out.
    if (name == "info")
      info_calls = n;
    if (n == 0 || name == "info")
      continue;
    total += n;
    w.Key(name.c_str());
    w.StartObject();
    write_int(w, "calls", static_cast<int64_t>(n));
    write_number(w, "per_run", per_run(n));
    auto u = b.usec.find(name);
    auto u0 = a.usec.find(name);
    if (u != b.usec.end())
      write_number(w, "usec_per_run",
                   per_run(u->second - (u0 == a.usec.end() ? 0 : u0->second)));
    w.EndObject();
  }
  w.EndObject();
  write_int(w, "commands", static_cast<int64_t>(total));
  write_int(w, "runs", static_cast<int64_t>(runs));
  write_number(w, "commands_per_run", per_run(total));
  // The same count from INFO stats, as a cross-check of commandstats.
  write_int(w, "total_commands_processed",
            static_cast<int64_t>(b.total_commands - a.total_commands)
              - static_cast<int64_t>(info_calls));
  // Each INFO reading is one read event too: the first one's is counted.
  auto reads = static_cast<int64_t>(b.reads - a.reads) - 1;
  write_int(w, "read_events", reads);
  write_number(w, "round_trips_per_run",
               per_run(static_cast<uint64_t>(std::max<int64_t>(reads, 0))));
  write_number(w, "cpu_us_per_run",
               runs > 0 ? (b.cpu_s - a.cpu_s) * 1e6 / runs : 0.0);
  write_int(w, "used_memory_rss_before", a.used_memory_rss);
  write_int(w, "used_memory_rss_after", b.used_memory_rss);
  w.EndObject();
}

} // namespace parley::bench

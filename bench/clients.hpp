// The load generator's clients, one class per role, each driven by its
// frames: idle (holds a connection), chat (chats again as soon as its run
// ends; optionally cancels), subscriber (follows a conversation), slow
// (stops reading). Included by the scenario files (through
// scenario_support.hpp) and sse_client.cpp; a client runs on one io_context
// thread and its counters are read after the threads stopped.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "loadgen.hpp"

namespace parley::bench {

namespace net = boost::asio;

/// A client frame: {"type": T, "payload": {K: V[, K2: V2]}}.
inline std::string frame(std::string_view type, std::string_view key,
                         std::string_view value, std::string_view key2 = {},
                         std::string_view value2 = {}) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  write_string(w, "type", type);
  w.Key("payload");
  w.StartObject();
  write_string(w, key.data(), value);
  if (!key2.empty())
    write_string(w, key2.data(), value2);
  w.EndObject();
  w.EndObject();
  return buf.GetString();
}

inline bool is_terminal(std::string_view type) {
  return type == "done" || type == "cancelled" || type == "error";
}

// -- idle ---------------------------------------------------------------------

/// Ready once both greeting frames arrived; then it only keeps a read
/// pending (so Beast answers the server's pings).
class idle_conn : public connection {
 public:
  idle_conn(net::io_context& ioc, std::string path,
            std::function<void()> settled)
    : connection(ioc, std::move(path)), settled_(std::move(settled)) {}

  bool ready() const { return ready_; }
  time_point ready_at() const { return ready_at_; }

 protected:
  void on_frame(std::string_view, time_point at) override {
    if (++greetings_ == 2) {
      ready_ = true;
      ready_at_ = at;
      settled_();
    }
  }
  void on_end() override {
    if (!ready_)
      settled_();
  }

 private:
  std::function<void()> settled_;
  int greetings_ = 0;
  bool ready_ = false;
  time_point ready_at_{};
};

/// Keeps at most `window` connects of one thread in flight.
struct launcher {
  std::vector<std::shared_ptr<idle_conn>> conns;
  std::vector<net::ip::address> sources;
  net::ip::tcp::endpoint server;
  size_t next = 0;
  size_t in_flight = 0;
  size_t window = 1;

  void launch() {
    while (in_flight < window && next < conns.size()) {
      ++in_flight;
      auto i = next++;
      conns[i]->start(server, sources[i % sources.size()]);
    }
  }
};

// -- stream and cancel --------------------------------------------------------

/// What the chatting clients of one scenario share.
struct stream_shared {
  time_point window_start{};
  time_point window_end = time_point::max();
  std::atomic<bool> sending{true};
  std::atomic<int64_t> runs_in_flight{0};
  std::atomic<uint64_t> frames{0}; ///< every run frame, for timelines
  std::atomic<size_t> ready{0};
  double cancel_probability = 0;
  int cancel_after_max = 0;
  /// fanout: told when the writer learns its run's id.
  std::function<void(std::string_view, time_point)> on_run_start;
};

/// Chats, waits for the terminal frame, chats again. Measures the time from
/// chat to chat_session_start, the gaps between a run's frames, and (when
/// cancelling) from cancel to cancelled.
class chat_conn : public connection {
 public:
  chat_conn(net::io_context& ioc, std::string path, stream_shared& shared,
            const std::string& message, const std::string& conversation,
            uint64_t seed)
    : connection(ioc, std::move(path)), shared_(shared),
      chat_(frame("chat", "message", message, "conversation_id", conversation)),
      rng_(seed) {}

  // Totals within the measuring window; read after the threads stopped.
  uint64_t frames = 0, chunks = 0, bytes = 0, runs = 0;
  uint64_t errors = 0, seq_gaps = 0, foreign = 0;
  uint64_t cancels_sent = 0, cancelled = 0, finished_before_cancel = 0;
  uint64_t late_after_cancelled = 0, late_after_done = 0;
  samples start_latency, inter_arrival, cancel_latency, delivery;

 protected:
  void on_frame(std::string_view text, time_point at) override {
    auto f = scan_frame(text);
    if (f.run.empty())
      return on_connection_frame(f);
    shared_.frames.fetch_add(1, std::memory_order_relaxed);
    if (auto* old = find_ended(f.run)) {
      ++(old->cancelled ? late_after_cancelled : late_after_done);
      return;
    }
    if (f.run != run_) {
      if (f.type != "chat_session_start" || !run_.empty()) {
        ++foreign;
        return;
      }
      run_.assign(f.run);
      last_seq_ = 0;
      if (in_window(sent_at_))
        start_latency.add(at - sent_at_);
      if (shared_.on_run_start)
        shared_.on_run_start(f.run, sent_at_);
    }
    count(f, text.size(), at);
    if (f.type == "chunk" && ++chunks_in_run_ == cancel_at_)
      send_cancel(at);
    if (is_terminal(f.type))
      end_run(f.type, at);
  }

 private:
  struct ended_run {
    std::string id;
    bool cancelled = false;
  };

  bool in_window(time_point t) const {
    return t >= shared_.window_start && t < shared_.window_end;
  }

  void on_connection_frame(const frame_info& f) {
    if (f.type == "session_start") {
      ++shared_.ready;
      send_chat();
    } else if (f.type == "error") {
      ++errors;
    }
  }

  void count(const frame_info& f, size_t size, time_point at) {
    if (f.seq != last_seq_ + 1)
      ++seq_gaps;
    last_seq_ = f.seq;
    if (in_window(at)) {
      ++frames;
      bytes += size;
      chunks += f.type == "chunk" ? 1 : 0;
      if (f.seq > 1)
        inter_arrival.add(at - last_frame_at_);
      add_delivery(delivery, f.time_us, at);
    }
    last_frame_at_ = at;
  }

  void send_chat() {
    if (!shared_.sending)
      return;
    ++shared_.runs_in_flight;
    chunks_in_run_ = 0;
    cancel_at_ = 0;
    if (shared_.cancel_probability > 0
        && std::uniform_real_distribution<>{}(rng_)
             < shared_.cancel_probability)
      cancel_at_
        = std::uniform_int_distribution<>{1, shared_.cancel_after_max}(rng_);
    sent_at_ = clock_type::now();
    send(chat_);
  }

  void send_cancel(time_point at) {
    cancel_sent_at_ = clock_type::now();
    cancel_pending_ = true;
    if (in_window(at))
      ++cancels_sent;
    send(frame("cancel", "chat_session_id", run_));
  }

  void end_run(std::string_view type, time_point at) {
    bool counted = in_window(cancel_sent_at_) && cancel_pending_;
    if (type == "cancelled" && counted) {
      ++cancelled;
      cancel_latency.add(at - cancel_sent_at_);
    } else if (type == "done" && counted) {
      ++finished_before_cancel;
    } else if (type == "error") {
      ++errors;
    }
    if (in_window(at))
      ++runs;
    ended_[ended_next_++ % ended_.size()] = {run_, type == "cancelled"};
    run_.clear();
    cancel_pending_ = false;
    --shared_.runs_in_flight;
    send_chat();
  }

  ended_run* find_ended(std::string_view id) {
    for (auto& e : ended_)
      if (!e.id.empty() && e.id == id)
        return &e;
    return nullptr;
  }

  stream_shared& shared_;
  const std::string chat_;
  std::mt19937_64 rng_;
  std::string run_;
  uint64_t last_seq_ = 0;
  int chunks_in_run_ = 0;
  int cancel_at_ = 0;
  bool cancel_pending_ = false;
  time_point sent_at_{}, last_frame_at_{}, cancel_sent_at_{};
  std::array<ended_run, 8> ended_;
  size_t ended_next_ = 0;
};

/// Sums the chat clients' counters; call after the pool finished.
struct stream_totals {
  uint64_t frames = 0, chunks = 0, bytes = 0, runs = 0, errors = 0;
  uint64_t seq_gaps = 0, foreign = 0, cancels_sent = 0, cancelled = 0;
  uint64_t finished_before_cancel = 0, late_after_cancelled = 0;
  uint64_t late_after_done = 0, failed = 0;
  samples start_latency, inter_arrival, cancel_latency, delivery;

  void add(chat_conn& c) {
    frames += c.frames, chunks += c.chunks, bytes += c.bytes, runs += c.runs;
    errors += c.errors, seq_gaps += c.seq_gaps, foreign += c.foreign;
    cancels_sent += c.cancels_sent, cancelled += c.cancelled;
    finished_before_cancel += c.finished_before_cancel;
    late_after_cancelled += c.late_after_cancelled;
    late_after_done += c.late_after_done;
    failed += c.has_failed() ? 1 : 0;
    start_latency.merge(c.start_latency);
    inter_arrival.merge(c.inter_arrival);
    cancel_latency.merge(c.cancel_latency);
    delivery.merge(c.delivery);
  }
};

// -- fanout -------------------------------------------------------------------

/// Follows a conversation; counts what arrives and checks that each run's
/// seq goes 1, 2, 3 … without gaps.
class subscriber_conn : public connection {
 public:
  using done_hook
    = std::function<void(std::string_view run, time_point at, samples& into)>;
  subscriber_conn(net::io_context& ioc, std::string path,
                  std::vector<std::string> conversations,
                  std::atomic<size_t>& subscribed, stream_shared& shared,
                  done_hook on_done)
    : connection(ioc, std::move(path)),
      conversations_(std::move(conversations)), subscribed_(subscribed),
      shared_(shared), on_done_(std::move(on_done)) {}

  uint64_t frames = 0, seq_gaps = 0, complete_runs = 0;
  samples done_latency, delivery;

 protected:
  void on_frame(std::string_view text, time_point at) override {
    auto f = scan_frame(text);
    if (f.type == "session_start")
      for (auto& c : conversations_)
        send(frame("subscribe", "conversation_id", c));
    if (f.type == "subscribed" && ++acks_ == conversations_.size())
      ++subscribed_;
    if (f.run.empty())
      return;
    if (at >= shared_.window_start && at < shared_.window_end) {
      ++frames;
      add_delivery(delivery, f.time_us, at);
    }
    // Runs of the one conversation come one after another: a new id starts
    // a new run. Joining mid-run is not a gap, but that run is not whole.
    if (f.run != run_) {
      run_.assign(f.run);
      last_seq_ = 0;
      whole_ = f.seq == 1;
    } else if (f.seq != last_seq_ + 1) {
      ++seq_gaps;
      whole_ = false;
    }
    last_seq_ = f.seq;
    if (f.type == "done") {
      complete_runs += whole_ ? 1 : 0;
      if (on_done_)
        on_done_(f.run, at, done_latency);
    }
  }

 private:
  std::vector<std::string> conversations_;
  std::atomic<size_t>& subscribed_;
  stream_shared& shared_;
  done_hook on_done_;
  size_t acks_ = 0;
  std::string run_;
  uint64_t last_seq_ = 0;
  bool whole_ = false;
};

/// Run id -> when the writer sent its chat, for the subscribers' latency.
class run_clock {
 public:
  void started(std::string_view run, time_point sent) {
    std::lock_guard<std::mutex> guard{mtx_};
    sent_.emplace(std::string{run}, sent);
  }
  void done(std::string_view run, time_point at, samples& into) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto it = sent_.find(std::string{run}); it != sent_.end())
      into.add(at - it->second);
  }

 private:
  std::mutex mtx_;
  std::unordered_map<std::string, time_point> sent_;
};

// -- slow ---------------------------------------------------------------------

/// Connected from the start; at the stall it stops reading and subscribes
/// to the first few chatting clients' conversations, so the server's queue
/// for it can only grow. (A reader that must first keep up would measure
/// the load generator's own speed, not the server's bound.)
class slow_conn : public connection {
 public:
  slow_conn(net::io_context& ioc, size_t conversations)
    : connection(ioc, "/ws/chat/slow-reader"), conversations_(conversations) {}

  std::atomic<uint64_t> frames{0};
  std::atomic<bool> ended{false};

  void stall() {
    pause_reading();
    for (size_t i = 0; i < conversations_; ++i)
      send(frame("subscribe", "conversation_id", "c" + std::to_string(i)));
  }

 protected:
  void on_frame(std::string_view, time_point) override {
    frames.fetch_add(1, std::memory_order_relaxed);
  }
  void on_end() override { ended = true; }

 private:
  size_t conversations_;
};

} // namespace parley::bench

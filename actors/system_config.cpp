#include "actors/system_config.hpp"

#include <algorithm>
#include <thread>

#include <caf/all.hpp>

#include "actors/interfaces.hpp"

namespace parley {

void register_parley_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<chat_request>("parley::chat_request");
  cfg.add_message_type<ping_request>("parley::ping_request");
  cfg.add_message_type<cancel_request>("parley::cancel_request");
  cfg.add_message_type<interrupt_request>("parley::interrupt_request");
  cfg.add_message_type<subscribe_request>("parley::subscribe_request");
  cfg.add_message_type<decode_error>("parley::decode_error");
  cfg.add_message_type<run_event>("parley::run_event");
  cfg.add_message_type<std::vector<run_event>>(
    "std::vector<parley::run_event>");
  cfg.add_message_type<event_frame>("parley::event_frame");
  cfg.add_message_type<frame_batch>("parley::frame_batch");
  cfg.add_message_type<run_request>("parley::run_request");
  cfg.add_message_type<conversation_record>("parley::conversation_record");
  cfg.add_message_type<message_record>("parley::message_record");
  cfg.add_message_type<run_record>("parley::run_record");
  cfg.add_message_type<std::vector<std::string>>("std::vector<std::string>");
  cfg.add_message_type<run_ticket>("parley::run_ticket");
  cfg.add_message_type<std::vector<run_record>>(
    "std::vector<parley::run_record>");
  cfg.add_message_type<api_key_info>("parley::api_key_info");
  cfg.add_message_type<std::vector<api_key_info>>(
    "std::vector<parley::api_key_info>");
  cfg.add_message_type<resource_doc>("parley::resource_doc");
  cfg.add_message_type<resource_query>("parley::resource_query");
  cfg.add_message_type<resource_page>("parley::resource_page");
  cfg.add_message_type<put_mode>("parley::put_mode");
  cfg.add_message_type<reference>("parley::reference");
  cfg.add_message_type<std::vector<reference>>(
    "std::vector<parley::reference>");
  cfg.add_message_type<cascade_rule>("parley::cascade_rule");
  cfg.add_message_type<std::vector<cascade_rule>>(
    "std::vector<parley::cascade_rule>");
  cfg.add_error_category(
    error_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
      std::string out{to_string(from_caf_code(code))};
      if (ctx.size() >= 1 && ctx.match_element<std::string>(0)
          && !ctx.get_as<std::string>(0).empty())
        out += ": " + ctx.get_as<std::string>(0);
      return out;
    });
}

parley_config::parley_config() {
  register_parley_types(*this);
  // parleyd logs through spdlog; CAF's own log file stays off.
  set("logger.file-verbosity", caf::atom("quiet"));
  // An idle CAF worker spins on its queue, then polls it every 50 us for
  // about 25 ms (a nanosleep each time), then sleeps on a condition
  // variable that a message from another thread (an I/O thread) wakes at
  // once. On a small machine the 50 us polls of idle workers take the CPU
  // that the busy worker and the I/O threads need; going from spinning
  // straight to the condition variable measured more frames per second
  // with no worse cancel latency (docs/benchmarks.md).
  set("work-stealing.moderate-poll-attempts", size_t{1});
}

void set_actor_threads(caf::actor_system_config& cfg, size_t threads) {
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", threads);
}

} // namespace parley

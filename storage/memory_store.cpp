#include "storage/memory_store.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include <caf/all.hpp>

namespace parley {

namespace {

struct memory_store_state {
  std::unordered_map<std::string, conversation_record> conversations;
  // Messages per conversation in insertion order.
  std::unordered_map<std::string, std::vector<message_record>> messages;
  std::unordered_map<std::string, run_record> runs;
  // Event logs keyed by run, ordered by seq; writes may repeat a seq
  // (a retried batch) and keep the first copy.
  std::unordered_map<std::string, std::map<uint64_t, event_frame>> events;

  static inline const char* name = "memory_store";

  void add_events(const std::string& run_id, std::vector<event_frame>& xs) {
    auto& log = events[run_id];
    for (auto& x : xs)
      log.emplace(x.seq, std::move(x));
  }
};

store_actor::behavior_type
memory_store(store_actor::stateful_pointer<memory_store_state> self) {
  auto& st = self->state;
  return {
    [&st](conv_put_atom, conversation_record& rec) {
      st.conversations[rec.id] = std::move(rec);
      return caf::ok_atom::value;
    },
    [&st](conv_get_atom,
          const std::string& id) -> caf::result<conversation_record> {
      auto it = st.conversations.find(id);
      if (it == st.conversations.end())
        return make_error(error_code::not_found, "conversation " + id);
      return it->second;
    },
    [&st](msg_add_atom, message_record& rec) {
      st.messages[rec.conversation_id].push_back(std::move(rec));
      return caf::ok_atom::value;
    },
    [&st](msg_list_atom, const std::string& conversation_id) {
      auto it = st.messages.find(conversation_id);
      return it == st.messages.end() ? std::vector<message_record>{}
                                     : it->second;
    },
    [&st](run_put_atom, run_record& rec) {
      st.runs[rec.id] = std::move(rec);
      return caf::ok_atom::value;
    },
    [&st](run_get_atom, const std::string& id) -> caf::result<run_record> {
      auto it = st.runs.find(id);
      if (it == st.runs.end())
        return make_error(error_code::not_found, "run " + id);
      return it->second;
    },
    [&st](ev_add_atom, const std::string& run_id,
          std::vector<event_frame>& xs) {
      st.add_events(run_id, xs);
      return caf::ok_atom::value;
    },
    [&st](ev_get_atom, const std::string& run_id, uint64_t after,
          uint32_t limit) {
      std::vector<event_frame> out;
      auto it = st.events.find(run_id);
      if (it == st.events.end())
        return out;
      for (auto i = it->second.upper_bound(after);
           i != it->second.end() && out.size() < limit; ++i)
        out.push_back(i->second);
      return out;
    },
    [&st](run_fin_atom, run_record& rec, std::vector<event_frame>& xs,
          std::vector<message_record>& msgs) {
      st.add_events(rec.id, xs);
      for (auto& msg : msgs)
        st.messages[msg.conversation_id].push_back(std::move(msg));
      st.runs[rec.id] = std::move(rec);
      return caf::ok_atom::value;
    },
  };
}

} // namespace

store_actor spawn_memory_store(caf::actor_system& sys) {
  return sys.spawn(memory_store);
}

} // namespace parley

#include "storage/memory_store.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include <caf/all.hpp>

namespace parley {

namespace {

/// The objects of one kind with their lookups; every list keeps insertion
/// order, which is the order clients list them in.
struct kind_table {
  std::unordered_map<std::string, resource_doc> docs;
  std::vector<std::string> order;
  /// key_of(field, value) -> ids
  std::unordered_map<std::string, std::vector<std::string>> index;
  /// key_of(field, value) -> the one id that holds it
  std::unordered_map<std::string, std::string> unique;
};

std::string key_of(const index_entry& x) {
  std::string key = x.field;
  key += '\0';
  key += x.value;
  return key;
}

void erase_id(std::vector<std::string>& ids, const std::string& id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

bool contains(const std::vector<index_entry>& xs, const index_entry& x) {
  return std::any_of(xs.begin(), xs.end(), [&](const index_entry& y) {
    return y.field == x.field && y.value == x.value;
  });
}

struct memory_store_state {
  std::unordered_map<std::string, kind_table> kinds;
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

  caf::result<resource_doc> put(resource_doc& doc, put_mode mode,
                                const std::vector<reference>& refs) {
    auto& table = kinds[doc.kind];
    auto existing = table.docs.find(doc.id);
    bool exists = existing != table.docs.end();
    if (exists && mode == put_mode::ensure)
      return existing->second;
    if (exists && mode == put_mode::create)
      return make_error(error_code::conflict,
                        doc.kind + " " + doc.id + " already exists", "id");
    if (!exists && mode == put_mode::replace)
      return make_error(error_code::not_found, "no " + doc.kind + " " + doc.id);
    for (auto& ref : refs)
      if (kinds[ref.kind].docs.count(ref.id) == 0)
        return make_error(error_code::validation_failed,
                          "field '" + ref.field + "' names " + ref.kind + " "
                            + ref.id + ", which does not exist",
                          ref.field);
    for (auto& x : doc.unique)
      if (auto i = table.unique.find(key_of(x));
          i != table.unique.end() && i->second != doc.id)
        return make_error(error_code::conflict,
                          "another of the " + doc.kind + " already has "
                            + x.field + " '" + x.value + "'",
                          x.field);
    if (exists) {
      auto& old = existing->second;
      for (auto& x : old.index)
        if (!contains(doc.index, x))
          erase_id(table.index[key_of(x)], doc.id);
      for (auto& x : doc.index)
        if (!contains(old.index, x))
          table.index[key_of(x)].push_back(doc.id);
      for (auto& x : old.unique)
        table.unique.erase(key_of(x));
    } else {
      table.order.push_back(doc.id);
      for (auto& x : doc.index)
        table.index[key_of(x)].push_back(doc.id);
    }
    for (auto& x : doc.unique)
      table.unique[key_of(x)] = doc.id;
    auto& stored = table.docs[doc.id];
    stored = std::move(doc);
    return stored;
  }

  void erase(const std::string& kind, const std::string& id) {
    auto& table = kinds[kind];
    auto i = table.docs.find(id);
    if (i == table.docs.end())
      return;
    for (auto& x : i->second.index)
      erase_id(table.index[key_of(x)], id);
    for (auto& x : i->second.unique)
      table.unique.erase(key_of(x));
    erase_id(table.order, id);
    table.docs.erase(i);
  }

  caf::result<caf::ok_atom> remove(const std::string& kind,
                                   const std::string& id,
                                   const std::vector<cascade_rule>& cascades,
                                   const std::vector<cascade_rule>& restricts) {
    if (kinds[kind].docs.count(id) == 0)
      return make_error(error_code::not_found, "no " + kind + " " + id);
    for (auto& rule : restricts) {
      auto& ids = kinds[rule.kind].index[key_of({rule.field, id})];
      if (!ids.empty())
        return make_error(error_code::conflict,
                          kind + " " + id + " is still referenced by "
                            + rule.kind + " " + ids.front() + " (" + rule.field
                            + "); delete or change that first");
    }
    for (auto& rule : cascades) {
      auto ids = kinds[rule.kind].index[key_of({rule.field, id})];
      for (auto& child : ids)
        erase(rule.kind, child);
    }
    erase(kind, id);
    return caf::ok_atom::value;
  }

  resource_page list(const resource_query& q) {
    auto& table = kinds[q.kind];
    const std::vector<std::string>* ids = &table.order;
    if (!q.field.empty())
      ids = &table.index[key_of({q.field, q.value})];
    resource_page page;
    page.total = ids->size();
    for (auto i = q.offset; i < ids->size() && page.items.size() < q.limit; ++i)
      page.items.push_back(table.docs[(*ids)[i]]);
    return page;
  }
};

store_actor::behavior_type
memory_store(store_actor::stateful_pointer<memory_store_state> self) {
  auto& st = self->state;
  return {
    [&st](res_put_atom, resource_doc& doc, put_mode mode,
          const std::vector<reference>& refs) {
      return st.put(doc, mode, refs);
    },
    [&st](res_get_atom, const std::string& kind,
          const std::string& id) -> caf::result<resource_doc> {
      auto& docs = st.kinds[kind].docs;
      auto i = docs.find(id);
      if (i == docs.end())
        return make_error(error_code::not_found, "no " + kind + " " + id);
      return i->second;
    },
    [&st](res_list_atom, const resource_query& q) { return st.list(q); },
    [&st](res_del_atom, const std::string& kind, const std::string& id,
          const std::vector<cascade_rule>& cascades,
          const std::vector<cascade_rule>& restricts) {
      return st.remove(kind, id, cascades, restricts);
    },
    [&st](ev_drop_atom, const std::string& conversation_id) {
      uint64_t dropped = 0;
      for (auto& [id, rec] : st.runs)
        if (rec.conversation_id == conversation_id && is_final(rec.status))
          dropped += st.events.erase(id);
      return dropped;
    },
    [](health_atom) { return caf::ok_atom::value; },
    [&st](run_live_atom) {
      std::vector<run_record> out;
      for (auto& [id, rec] : st.runs)
        if (!is_final(rec.status))
          out.push_back(rec);
      return out;
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
    [&st](run_open_atom, run_record& rec, std::vector<resource_doc>& docs,
          std::vector<event_frame>& xs) {
      for (auto& doc : docs)
        st.put(doc, put_mode::ensure, {});
      st.add_events(rec.id, xs);
      st.runs[rec.id] = std::move(rec);
      return caf::ok_atom::value;
    },
    [&st](run_fin_atom, run_record& rec, std::vector<event_frame>& xs,
          std::vector<message_record>& msgs) {
      st.add_events(rec.id, xs);
      for (auto& msg : msgs) {
        auto doc = message_doc(msg);
        st.put(doc, put_mode::ensure, {});
      }
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

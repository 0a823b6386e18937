// Conversation ids are global (clients choose them on a WebSocket `chat`),
// while everything else a user stores lives in their own scope
// (protocol/owner.hpp). So the store keeps one small claim per conversation
// naming its owner, written with put_mode::ensure: the first user to use an
// id owns it, and everyone later is told whose it is in the same step. The
// claims are a kind of their own that no route reaches.
#pragma once

#include <string>

#include "protocol/codec.hpp"
#include "protocol/resources.hpp"

namespace parley {

inline constexpr const char* conversation_claims_kind = "conversation_owners";

/// The claim of `owner` on `conversation_id`, to store with put_mode::ensure.
inline resource_doc claim_of(const std::string& conversation_id,
                             const std::string& owner) {
  resource_doc doc;
  doc.kind = conversation_claims_kind;
  doc.id = conversation_id;
  doc.json = R"({"owner":")" + json_escape(owner) + "\"}";
  doc.index.push_back(index_entry{"owner", owner});
  return doc;
}

/// Who a stored claim names.
inline std::string owner_in(const resource_doc& claim) {
  for (auto& entry : claim.index)
    if (entry.field == "owner")
      return entry.value;
  return {};
}

} // namespace parley

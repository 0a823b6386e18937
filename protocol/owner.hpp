// Whose objects are whose. Every stored object belongs to one user; the
// store keeps each user's objects of a kind apart by storing them under a
// kind scoped to the owner ("personas@alice"), so lists, indexes, unique
// names, references and cascades stay within one user without the store
// knowing about users at all, and another user's id is simply not found.
// The local user of `--auth none` owns the unscoped kinds.
#pragma once

#include <string>
#include <string_view>

namespace parley {

/// Who sent a request, as the transport authenticated it.
struct principal {
  std::string user; ///< empty: the local user of --auth none
  bool admin = false;
};

/// The suffix that scopes a kind to `user`: "@" and the user name with
/// every byte outside [A-Za-z0-9._-] written as %XX (so a scoped kind never
/// contains ':' or '@' twice); empty for the local user.
std::string owner_scope(std::string_view user);

/// `kind` as stored for `user`, e.g. "personas@alice".
std::string scoped_kind(std::string_view kind, std::string_view user);

/// The kind without its owner scope ("personas@alice" -> "personas").
std::string_view plain_kind(std::string_view kind) noexcept;

/// `text` with every occurrence of `scope` removed: store messages name the
/// scoped kind, clients are told the plain one.
std::string without_scope(std::string text, std::string_view scope);

template<class Inspector>
auto inspect(Inspector& f, principal& x) {
  return f(x.user, x.admin);
}

} // namespace parley

// Declarative JSON object schemas: the one description of a request body or
// resource that drives its validation, how it is stored and indexed, and its
// OpenAPI document. A field is a few builder calls:
//
//   field::text("name").required().length(1, 200)
//   field::choice("mode", {"reactive", "autonomous"}).fallback("reactive")
//   field::ref("persona_id", "personas").required()
//
// Validation is strict (unknown members are refused), never throws and names
// the offending field, so a client can fix its request from the message.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/frames.hpp"

namespace parley {

enum class field_type : uint8_t {
  string,
  integer,
  number,
  boolean,
  object, ///< any JSON object, kept verbatim
  id,     ///< a UUID naming another object (see field_spec::references)
};

/// The JSON schema type name of `type` ("string", "integer", ...).
const char* json_type_name(field_type type) noexcept;

/// `x` as a JSON number: integral values without a fraction.
std::string to_json_number(double x);

struct field_spec {
  std::string name;
  field_type type = field_type::string;
  std::string description;
  bool is_required = false;
  bool is_nullable = true;
  /// String length in code points, inclusive; max 0 means "no limit".
  size_t min_length = 0;
  size_t max_length = 0;
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::vector<std::string> allowed; ///< enum values, for strings
  std::string pattern;              ///< ECMAScript regex the value must match
  bool must_be_regex = false;       ///< the value itself must compile
  std::string default_json;         ///< JSON text used when absent
  std::string references;           ///< kind an id field points at
  bool is_unique = false;           ///< no two objects of a kind share it
  bool is_indexed = false;          ///< lookups and filters by this field

  static field_spec text(std::string name);
  static field_spec integer(std::string name);
  static field_spec number(std::string name);
  static field_spec boolean(std::string name);
  static field_spec object(std::string name);
  static field_spec choice(std::string name, std::vector<std::string> values);
  static field_spec ref(std::string name, std::string kind);

  field_spec& required() {
    is_required = true;
    is_nullable = false;
    return *this;
  }
  /// Stored objects may hold null here though a request must not send it
  /// (objects the server makes itself); only the documentation differs.
  field_spec& nullable() {
    is_nullable = true;
    return *this;
  }
  field_spec& length(size_t lo, size_t hi) {
    min_length = lo;
    max_length = hi;
    return *this;
  }
  field_spec& range(double lo, double hi) {
    minimum = lo;
    maximum = hi;
    return *this;
  }
  field_spec& matches(std::string regex) {
    pattern = std::move(regex);
    return *this;
  }
  field_spec& regex() {
    must_be_regex = true;
    return *this;
  }
  field_spec& fallback(std::string json) {
    default_json = std::move(json);
    is_nullable = false;
    return *this;
  }
  field_spec& unique() {
    is_unique = true;
    is_indexed = true;
    return *this;
  }
  field_spec& indexed() {
    is_indexed = true;
    return *this;
  }
  field_spec& describe(std::string text) {
    description = std::move(text);
    return *this;
  }
};

struct object_schema {
  object_schema() = default;
  object_schema(std::string name, std::vector<field_spec> fields)
    : name(std::move(name)), fields(std::move(fields)) {}

  std::string name; ///< e.g. "Persona"; the OpenAPI component name
  std::vector<field_spec> fields;
  /// Members the server sets (id, timestamps): accepted in a body, so a
  /// client can send back what it read, and ignored.
  std::vector<std::string> read_only;

  const field_spec* find(std::string_view field) const noexcept;
};

/// One validated member: its canonical JSON text and, for scalars, the
/// value itself (strings unescaped, booleans as "true"/"false", numbers as
/// written by the encoder).
struct field_value {
  std::string json;
  std::string text;
  bool is_null = true;
};

/// A body that passed its schema: every field of the schema, in schema
/// order, with defaults filled in and absent optional fields null.
struct validated_object {
  std::vector<std::pair<std::string, field_value>> values;

  const field_value* get(std::string_view field) const noexcept;
  /// The string (or scalar text) of `field`; empty when null.
  std::string text(std::string_view field) const;
  bool has(std::string_view field) const noexcept;
  /// `{"a":1,"b":"x"}` in schema order; null members included.
  std::string to_json() const;
};

/// Why a body was refused: bad_json (not JSON, not an object, too deep) or
/// validation_failed naming the field.
using validation_result = std::variant<validated_object, decode_error>;

validation_result validate(const object_schema& schema, std::string_view body);

/// The references to check before storing `obj`: (field, kind, id).
struct reference {
  std::string field;
  std::string kind;
  std::string id;
};

template<class Inspector>
auto inspect(Inspector& f, reference& x) {
  return f(x.field, x.kind, x.id);
}

std::vector<reference> references_of(const object_schema& schema,
                                     const validated_object& obj);

} // namespace parley

// Private to pki: the entity fields of a PKI spec as a table of name -> handler, and the value
// parsers the spec parser (spec.cpp) shares with the handlers. Adding a spec field is a handler
// and a row here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/json_node.hpp"
#include "pki/spec.hpp"
#include "pki/time.hpp"

namespace pki::spec_fields {

using Node = common::JsonNode;

// What a handler may need besides the value and the entity.
struct FieldContext {
  TimePoint now; // relative times are relative to it
};

// Applies one field's value to the entity being built (after its profile's defaults).
using Apply = void (*)(const Node& value, EntityPlan& plan, const FieldContext& context);

struct EntityField {
  std::string_view name;
  Apply apply = nullptr; // nullptr: read by the parser itself (profile, issuer, from, key, …)
};

// Every entity field, in the order overrides apply.
[[nodiscard]] const std::vector<EntityField>& entity_fields();
// Their names, for only_keys.
[[nodiscard]] const std::vector<std::string_view>& entity_field_names();

// "a server", "an intermediate": for messages.
[[nodiscard]] std::string a_profile(Profile p);
// sha256, sha384, sha512, sha1 or md5.
[[nodiscard]] std::string parse_digest(const Node& n);
// A validity time as parse_time reads it, and one a certificate can encode.
[[nodiscard]] TimePoint parse_time_node(const Node& node, TimePoint now);
// Whether an X.509 GeneralizedTime (4-digit year) can hold `t`.
[[nodiscard]] bool encodable_time(TimePoint t);
[[nodiscard]] int year_of(TimePoint t);

} // namespace pki::spec_fields

// Strict parsing of the PKI spec: derivation, profiles, overrides and defects, with every error
// naming the file and the JSON pointer of the offending value.
#include "pki/spec.hpp"

#include <algorithm>
#include <climits>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/json_node.hpp"
#include "pki/defects.hpp"
#include "spec_fields.hpp"

namespace pki {
using common::did_you_mean;
using common::escape_json_pointer;
using common::parse_json_document;
using common::read_file;

namespace {

using namespace spec_fields;
using json = nlohmann::json;
using tlsmatrix::Errc;
using tlsmatrix::Error;

std::vector<std::string_view> defect_names() {
  std::vector<std::string_view> out;
  for (const auto& d : defect_catalog())
    out.push_back(d.name);
  return out;
}

std::optional<Profile> parse_profile(std::string_view s) {
  if (s == "root")
    return Profile::root;
  if (s == "intermediate")
    return Profile::intermediate;
  if (s == "server")
    return Profile::server;
  if (s == "client")
    return Profile::client;
  return std::nullopt;
}

KeyType parse_key_node(const Node& node) {
  const auto text = node.string();
  if (text == "rsa-1024")
    node.fail("expected one of " + key_type_names() +
              ", got \"rsa-1024\" (a 1024-bit key is a defect: add \"weak_key_rsa1024\" to "
              "\"defects\" instead)");
  return node.one_of(key_type_names(), [](const std::string& s) { return parse_key_type(s); });
}

bool valid_entity_name(std::string_view name) {
  if (name.empty() || name.size() > 64)
    return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
                              c == '.';
                     }) &&
         name.front() != '.';
}

struct RawEntity {
  // field -> (value, pointer where it was written); `from` already merged in.
  std::map<std::string, std::pair<const json*, std::string>> fields;
};

class Parser {
public:
  Parser(const json& root, std::string_view origin, TimePoint now)
      : root_(root, "", origin), origin_(origin) {
    spec_.origin = std::string(origin);
    spec_.now = now;
  }

  Spec run() {
    root_.only_keys(
        {"version", "description", "defaults", "server_name", "p12_password", "entities"});
    if (!root_.has("version"))
      root_.missing("version", "1 (the version of the spec format)");
    if (const Node v = root_.child("version"); !v.value().is_number_integer() || v.value() != 1)
      v.fail("expected 1, got " + v.value().dump() + " (this tool reads version 1 specs)");
    if (root_.has("description"))
      (void)root_.child("description").string();
    if (root_.has("server_name"))
      spec_.server_name = parse_server_name(root_.child("server_name"));
    if (root_.has("p12_password"))
      spec_.p12_password = root_.child("p12_password").string();
    if (root_.has("defaults"))
      parse_defaults(root_.child("defaults"));
    if (!root_.has("entities"))
      root_.missing("entities",
                    "an object of entities such as {\"root\": {\"profile\": \"root\"}}");
    const Node entities = root_.child("entities");
    entities.expect_object();
    if (entities.value().empty())
      entities.fail(
          "expected at least one entity such as \"root\": {\"profile\": \"root\"}, got {}");
    for (const auto& [name, _] : entities.value().items()) {
      const Node e = entities.child(name);
      if (!valid_entity_name(name))
        e.fail("expected an entity name of 1 to 64 letters, digits, '_', '-' and '.', not starting "
               "with '.' (it becomes a file name), got \"" +
               name + "\"");
      e.only_keys(entity_field_names());
    }
    for (const auto& [name, _] : entities.value().items())
      resolve_raw(name, {});
    order_and_build(entities);
    return std::move(spec_);
  }

private:
  void parse_defaults(const Node& d) {
    d.only_keys({"key", "digest"});
    if (d.has("key"))
      default_key_ = parse_key_node(d.child("key"));
    if (d.has("digest"))
      default_digest_ = parse_digest(d.child("digest"));
  }

  // The name server certificates are issued for and verified against; it becomes a DNS SAN and
  // a CN, so it is held to host-name characters (a '/' or ',' would inject into either).
  static std::string parse_server_name(const Node& n) {
    const auto s = n.string();
    const bool ok = !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
             c == '*';
    });
    if (!ok)
      n.fail(
          "expected a host name of 1 to 64 characters (letters, digits, '.', '-', '_', '*') such "
          "as localhost, got \"" +
          s + "\"");
    return s;
  }

  // Merges `from` chains so a derived entity is its base's fields overridden by its own.
  const RawEntity& resolve_raw(const std::string& name, std::vector<std::string> visiting) {
    if (auto it = raw_.find(name); it != raw_.end())
      return it->second;
    const Node e = root_.child("entities").child(name);
    visiting.push_back(name);
    RawEntity raw;
    if (e.has("from")) {
      const Node from = e.child("from");
      const std::string base = from.string();
      check_reference(from, base);
      if (std::find(visiting.begin(), visiting.end(), base) != visiting.end()) {
        std::string cycle;
        for (const auto& v : visiting)
          cycle += v + " -> ";
        from.fail("derivation cycle: " + cycle + base +
                  " (expected \"from\" chains to end at an "
                  "entity without \"from\")");
      }
      raw = resolve_raw(base, visiting);
      raw.fields.erase("description");
      raw.fields["from"] = {&from.value(), from.pointer()};
    }
    for (const auto& [key, value] : e.value().items()) {
      if (key == "from")
        continue;
      raw.fields[key] = {&value, e.pointer() + "/" + escape_json_pointer(key)};
    }
    return raw_.emplace(name, std::move(raw)).first->second;
  }

  // `name` must be an entity of the spec.
  void check_reference(const Node& n, const std::string& name) const {
    const Node entities = root_.child("entities");
    if (entities.has(name))
      return;
    std::vector<std::string> names;
    for (const auto& [key, _] : entities.value().items())
      names.push_back(key);
    n.fail("expected the name of an entity under /entities, got \"" + name + "\"" +
           did_you_mean(name, names));
  }

  std::optional<Node> field(const RawEntity& raw, std::string_view key) const {
    auto it = raw.fields.find(std::string(key));
    if (it == raw.fields.end())
      return std::nullopt;
    return Node(*it->second.first, it->second.second, origin_);
  }

  void order_and_build(const Node& entities) {
    // Topological order by issuer; the order among independent entities follows their names.
    std::map<std::string, std::optional<std::string>> issuer_of;
    for (const auto& [name, _] : entities.value().items()) {
      const auto& raw = raw_.at(name);
      std::optional<std::string> issuer;
      const bool self_signed = declares_defect(raw, "self_signed");
      if (auto n = field(raw, "issuer")) {
        // Checked even when self_signed drops it: a dangling name is a typo either way.
        const auto named = n->string();
        check_reference(*n, named);
        if (named == name)
          n->fail("expected the name of another entity, got \"" + name +
                  "\" itself (a root has no \"issuer\"; a self-signed leaf has the self_signed "
                  "defect)");
        if (!self_signed)
          issuer = named;
      }
      issuer_of[name] = issuer;
    }
    // Each stack entry: an entity and the field ("issuer" or "from") that led on from it.
    struct Step {
      std::string name;
      std::string via;
    };
    std::set<std::string> done;
    std::function<void(const std::string&, std::vector<Step>&)> visit =
        [&](const std::string& name, std::vector<Step>& stack) {
          if (done.contains(name))
            return;
          const auto seen = std::find_if(stack.begin(), stack.end(),
                                         [&](const Step& s) { return s.name == name; });
          if (seen != stack.end()) {
            std::string cycle = seen->name;
            for (auto it = seen; it != stack.end(); ++it)
              cycle += " -(" + it->via + ")-> " + (it + 1 == stack.end() ? name : (it + 1)->name);
            const bool issuers_only =
                std::all_of(seen, stack.end(), [](const Step& s) { return s.via == "issuer"; });
            field(raw_.at(stack.back().name), stack.back().via)
                ->fail(std::string(issuers_only ? "issuer" : "issuer/derivation") +
                       " cycle: " + cycle + " (expected every issuer chain to end at a root)");
          }
          stack.push_back({name, ""});
          if (const auto& issuer = issuer_of.at(name)) {
            stack.back().via = "issuer";
            visit(*issuer, stack);
          }
          // A derived entity is built after its base (it may share the base's key).
          if (auto from = field(raw_.at(name), "from")) {
            stack.back().via = "from";
            visit(from->string(), stack);
          }
          stack.pop_back();
          done.insert(name);
          spec_.entities.push_back(build(name, issuer_of.at(name)));
        };
    for (const auto& [name, _] : entities.value().items()) {
      std::vector<Step> stack;
      visit(name, stack);
    }
    for (auto& plan : spec_.entities)
      apply_defects(plan);
    check_consistency();
  }

  bool declares_defect(const RawEntity& raw, std::string_view defect) const {
    auto n = field(raw, "defects");
    if (!n || !n->value().is_array())
      return false;
    for (const auto& d : n->value())
      if (d.is_string() && d.get<std::string>() == defect)
        return true;
    return false;
  }

  EntityPlan build(const std::string& name, const std::optional<std::string>& issuer) {
    const auto& raw = raw_.at(name);
    EntityPlan p;
    p.name = name;
    p.pointer = "/entities/" + escape_json_pointer(name);
    p.issuer = issuer;
    const Node self = root_.child("entities").child(name);

    const auto profile = field(raw, "profile");
    if (!profile)
      self.missing("profile",
                   "one of root, intermediate, server, client (or \"from\": another entity)");
    p.profile = profile->one_of("root, intermediate, server, client", parse_profile);
    if (p.profile == Profile::root && issuer)
      field(raw, "issuer")
          ->fail("expected no \"issuer\": a root is self-signed (for a CA issued by \"" + *issuer +
                 "\" use \"profile\": \"intermediate\")");
    if (p.profile != Profile::root && !issuer && !declares_defect(raw, "self_signed"))
      self.missing("issuer",
                   "the name of the CA (root or intermediate) that issues this " +
                       std::string(profile_name(p.profile)) +
                       " certificate (only roots and self_signed certificates have none)");
    if (issuer) {
      const auto& issuer_profile = field(raw_.at(*issuer), "profile");
      const auto ip = issuer_profile ? parse_profile(issuer_profile->string()) : std::nullopt;
      if (ip && !is_ca(*ip))
        field(raw, "issuer")
            ->fail("expected a CA (root or intermediate), but \"" + *issuer + "\" is " +
                   a_profile(*ip) + " certificate");
    }
    if (auto n = field(raw, "description"))
      p.description = n->string();

    p.key_type = default_key_;
    if (auto n = field(raw, "key"))
      p.key_type = parse_key_node(*n);
    if (auto from = field(raw, "from")) {
      // A derived leaf keeps its twin's key, so it differs only where its defects say; CAs get
      // their own key so no verifier can chain a leaf through the wrong twin.
      const auto& base = spec_.at(from->string());
      if (!is_ca(p.profile) && base.key_type == p.key_type)
        p.key_from = base.key_from ? base.key_from : std::optional(base.name);
    }

    auto& c = p.cert;
    c.digest = default_digest_;
    switch (p.profile) {
    case Profile::root:
      p.trusted = true;
      c.subject = "/O=tlsmatrix/CN=" + name;
      c.basic_constraints = BasicConstraints{true, std::nullopt, true};
      c.key_usage = KeyUsage{{"keyCertSign", "cRLSign"}, true};
      c.not_before = spec_.now - std::chrono::days(1);
      c.not_after = spec_.now + std::chrono::days(3650);
      break;
    case Profile::intermediate:
      c.subject = "/O=tlsmatrix/CN=" + name;
      c.basic_constraints = BasicConstraints{true, std::nullopt, true};
      c.key_usage = KeyUsage{{"keyCertSign", "cRLSign"}, true};
      c.not_before = spec_.now - std::chrono::days(1);
      c.not_after = spec_.now + std::chrono::days(1825);
      break;
    case Profile::server:
    case Profile::client: {
      const bool server = p.profile == Profile::server;
      c.subject = "/O=tlsmatrix/CN=" + (server ? spec_.server_name : name);
      c.basic_constraints = BasicConstraints{false, std::nullopt, true};
      c.key_usage = KeyUsage{{"digitalSignature"}, true};
      // TLS 1.2 RSA key exchange encrypts the premaster secret to the server key.
      if (server && is_rsa(p.key_type))
        c.key_usage->usages.push_back("keyEncipherment");
      c.extended_key_usage = ExtendedKeyUsage{{server ? "serverAuth" : "clientAuth"}, false};
      if (server)
        c.subject_alt_names = {"DNS:" + spec_.server_name, "IP:127.0.0.1", "IP:::1"};
      c.not_before = spec_.now - std::chrono::days(1);
      c.not_after = spec_.now + std::chrono::days(365);
      break;
    }
    case Profile::invalid:
      break;
    }
    if (is_ca(p.profile))
      p.crl =
          CrlPlan{spec_.now - std::chrono::days(1), spec_.now + std::chrono::days(30), 1, c.digest};

    apply_overrides(raw, p);
    return p;
  }

  // The entity's own fields over its profile's defaults, in the table's order (later fields see
  // what earlier ones set: a CRL takes the digest, validity checks against both bounds).
  void apply_overrides(const RawEntity& raw, EntityPlan& p) {
    const FieldContext context{spec_.now};
    for (const auto& f : entity_fields())
      if (f.apply != nullptr)
        if (auto n = field(raw, f.name))
          f.apply(*n, p, context);
    auto& c = p.cert;
    if (c.version == 1) {
      // An X.509 v1 certificate has no extensions at all.
      c.basic_constraints.reset();
      c.key_usage.reset();
      c.extended_key_usage.reset();
      c.subject_alt_names.clear();
      c.subject_key_identifier = c.authority_key_identifier = false;
    }
  }

  void apply_defects(EntityPlan& p) {
    const auto& raw = raw_.at(p.name);
    auto n = field(raw, "defects");
    if (!n)
      return;
    const auto names = n->strings();
    for (std::size_t i = 0; i < names.size(); ++i) {
      const Node d = n->element(i);
      const DefectInfo* defect = find_defect(names[i]);
      if (defect == nullptr)
        d.fail("expected a defect name (`tlsmatrix pki defects` lists them), got \"" + names[i] +
               "\"" + did_you_mean(names[i], defect_names()));
      if (std::find(defect->applies_to.begin(), defect->applies_to.end(), p.profile) ==
          defect->applies_to.end()) {
        std::string profiles;
        for (auto ap : defect->applies_to)
          profiles += (profiles.empty() ? "" : ", ") + std::string(profile_name(ap));
        d.fail("defect \"" + names[i] + "\" applies to " + profiles +
               " certificates, not to this " + std::string(profile_name(p.profile)) +
               " certificate");
      }
      if (std::find(p.defects.begin(), p.defects.end(), names[i]) != p.defects.end())
        d.fail("defect \"" + names[i] + "\" is listed twice (expected each defect at most once)");
      try {
        apply_defect(*defect, p, spec_);
      } catch (const Error& e) {
        d.fail(e.what());
      }
      p.defects.push_back(names[i]);
    }
  }

  void check_consistency() {
    for (const auto& p : spec_.entities) {
      const auto chain = spec_.chain_of(p.name);
      const auto& raw = raw_.at(p.name);
      const Node self = root_.child("entities").child(p.name);
      if (chain.size() > 16)
        self.fail("expected a chain of at most 16 certificates, got " +
                  std::to_string(chain.size()));
      if (p.cert.digest == "md5") {
        const auto& signer = p.issuer ? spec_.at(*p.issuer) : p;
        if (!is_rsa(signer.key_type))
          where_digest_was_set(raw, "md5", "md5_signature", self)
              .fail("an MD5 signature needs an RSA issuer key, but \"" + signer.name +
                    "\" has key type " + std::string(key_type_name(signer.key_type)) +
                    " (ECDSA and EdDSA have no MD5 variant): expected \"issuer\" to be an RSA CA");
      }
      // Defaults are relative to "now": a far --now can push them past year 9999.
      for (const auto& [what, t] :
           {std::pair{"notBefore", p.cert.not_before},
            {"notAfter", p.cert.not_after},
            {"the CRL's thisUpdate", p.crl ? p.crl->this_update : spec_.now},
            {"the CRL's nextUpdate", p.crl ? p.crl->next_update : spec_.now}})
        if (!encodable_time(t))
          self.fail("expected " + std::string(what) + " from year 0000 to 9999, got year " +
                    std::to_string(year_of(t)) + " (from the profile defaults and \"now\" " +
                    format_time(spec_.now) + ")");
      if (p.cert.version == 1 && !is_ca(p.profile))
        (field(raw, "version") ? *field(raw, "version") : self)
            .fail("expected version 3 on " + a_profile(p.profile) +
                  " certificate: version 1 is only for CAs (see the v1_issuer defect); leaves need "
                  "extensions");
    }
  }

  // The value that made this entity's digest `digest`: its "digest", the defect, or the default.
  Node where_digest_was_set(const RawEntity& raw, std::string_view digest, std::string_view defect,
                            const Node& fallback) const {
    if (auto n = field(raw, "defects"); n && declares_defect(raw, defect))
      for (std::size_t i = 0; i < n->value().size(); ++i)
        if (n->value()[i] == defect)
          return n->element(i);
    if (auto n = field(raw, "digest"); n && n->value() == digest)
      return *n;
    if (root_.has("defaults") && root_.child("defaults").has("digest"))
      return root_.child("defaults").child("digest");
    return fallback;
  }

  Node root_;
  std::string_view origin_;
  Spec spec_;
  KeyType default_key_ = KeyType::p256;
  std::string default_digest_ = "sha256";
  std::map<std::string, RawEntity> raw_;
};

} // namespace

std::string_view profile_name(Profile p) {
  switch (p) {
  case Profile::root:
    return "root";
  case Profile::intermediate:
    return "intermediate";
  case Profile::server:
    return "server";
  case Profile::client:
    return "client";
  case Profile::invalid:
    break;
  }
  return "invalid";
}

const EntityPlan* Spec::find(std::string_view name) const {
  for (const auto& e : entities)
    if (e.name == name)
      return &e;
  return nullptr;
}

const EntityPlan& Spec::at(std::string_view name) const {
  if (const auto* e = find(name))
    return *e;
  throw Error(Errc::invalid_input, "no entity named \"" + std::string(name) + "\" in " + origin);
}

std::vector<const EntityPlan*> Spec::chain_of(std::string_view name) const {
  std::vector<const EntityPlan*> chain;
  const EntityPlan* e = &at(name);
  while (e != nullptr && chain.size() <= entities.size()) {
    chain.push_back(e);
    e = e->issuer ? find(*e->issuer) : nullptr;
  }
  return chain;
}

Spec parse_spec(std::string_view text, std::string_view origin, TimePoint now) {
  return Parser(parse_json_document(text, origin), origin, now).run();
}

Spec load_spec(const std::filesystem::path& path, TimePoint now) {
  return parse_spec(read_file(path), path.string(), now);
}

Spec default_spec(TimePoint now) {
  return parse_spec(default_spec_json(), "<built-in default spec>", now);
}

} // namespace pki

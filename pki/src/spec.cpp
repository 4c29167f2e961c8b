// Strict parsing of the PKI spec: derivation, profiles, overrides and defects, with every error
// naming the file and the JSON pointer of the offending value.
#include "pki/spec.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "pki/defects.hpp"
#include "pki/error.hpp"
#include "pki/files.hpp"

namespace pki {
namespace {

using json = nlohmann::json;
using tlsmatrix::Errc;
using tlsmatrix::Error;

std::string escape_pointer(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string type_name(const json& j) {
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
  if (j.is_number()) return "a number";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  return "null";
}

// A JSON value with the pointer it was found at, so every error can name it.
class Node {
public:
  Node(const json& value, std::string pointer, std::string_view origin)
      : value_(&value), pointer_(std::move(pointer)), origin_(origin) {}

  [[noreturn]] void fail(const std::string& message) const {
    throw Error(Errc::invalid_input, std::string(origin_) + ": " +
                                         (pointer_.empty() ? "/" : pointer_) + ": " + message);
  }
  [[nodiscard]] const json& value() const { return *value_; }
  [[nodiscard]] const std::string& pointer() const { return pointer_; }
  [[nodiscard]] std::string_view origin() const { return origin_; }
  [[nodiscard]] Node child(std::string_view key) const {
    return Node(value_->at(std::string(key)), pointer_ + "/" + escape_pointer(key), origin_);
  }
  [[nodiscard]] Node element(std::size_t i) const {
    return Node(value_->at(i), pointer_ + "/" + std::to_string(i), origin_);
  }
  [[nodiscard]] bool has(std::string_view key) const {
    return value_->is_object() && value_->contains(std::string(key));
  }

  const json& expect_object() const {
    if (!value_->is_object()) fail("expected an object, got " + type_name(*value_));
    return *value_;
  }
  void only_keys(std::initializer_list<std::string_view> allowed) const {
    only_keys(std::vector<std::string_view>(allowed));
  }
  void only_keys(const std::vector<std::string_view>& allowed) const {
    expect_object();
    for (const auto& [key, _] : value_->items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        Node(value_->at(key), pointer_ + "/" + escape_pointer(key), origin_)
            .fail("unknown key (expected one of " + list + ")");
      }
    }
  }
  [[nodiscard]] std::string string() const {
    if (!value_->is_string()) fail("expected a string, got " + type_name(*value_));
    return value_->get<std::string>();
  }
  [[nodiscard]] bool boolean() const {
    if (!value_->is_boolean()) fail("expected true or false, got " + type_name(*value_));
    return value_->get<bool>();
  }
  [[nodiscard]] long long integer(long long min, long long max) const {
    if (!value_->is_number_integer()) fail("expected an integer, got " + type_name(*value_));
    const auto v = value_->get<long long>();
    if (v < min || v > max)
      fail("expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
           ", got " + std::to_string(v));
    return v;
  }
  [[nodiscard]] std::vector<std::string> strings() const {
    if (!value_->is_array()) fail("expected an array of strings, got " + type_name(*value_));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < value_->size(); ++i) out.push_back(element(i).string());
    return out;
  }
  template <class F> auto one_of(std::string_view what, const std::string& names, F parse) const {
    const auto text = string();
    auto parsed = parse(text);
    if (!parsed) fail("expected one of " + names + ", got \"" + text + "\"");
    (void)what;
    return *parsed;
  }

private:
  const json* value_;
  std::string pointer_;
  std::string_view origin_;
};

std::optional<Profile> parse_profile(std::string_view s) {
  if (s == "root") return Profile::root;
  if (s == "intermediate") return Profile::intermediate;
  if (s == "server") return Profile::server;
  if (s == "client") return Profile::client;
  return std::nullopt;
}

bool valid_entity_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  }) && name.front() != '.';
}

Bytes parse_hex(const Node& node, std::string_view what) {
  std::string text = node.string();
  if (text.starts_with("0x") || text.starts_with("0X")) text = text.substr(2);
  std::erase(text, ':');
  if (text.empty() || text.size() % 2 != 0 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
    node.fail("expected " + std::string(what) + " as an even number of hex digits");
  Bytes out;
  for (std::size_t i = 0; i < text.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(text.substr(i, 2), nullptr, 16)));
  return out;
}

TimePoint parse_time_node(const Node& node, TimePoint now) {
  const auto text = node.string();
  const auto t = parse_time(text, now);
  if (!t)
    node.fail("expected a time: \"now\", an offset such as \"-30d\" or \"+1y\" (s, m, h, d, y), or "
              "\"2026-01-31T12:00:00Z\", got \"" + text + "\"");
  return *t;
}

const std::vector<std::string_view> key_usage_names = {
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
    "keyCertSign",      "cRLSign",        "encipherOnly",    "decipherOnly"};
const std::vector<std::string_view> eku_names = {"serverAuth",      "clientAuth",   "codeSigning",
                                                 "emailProtection", "timeStamping", "OCSPSigning"};

bool is_dotted_oid(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  int dots = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.') return false;
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return dots >= 1;
}

std::string join_names(const std::vector<std::string_view>& names) {
  std::string out;
  for (auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

// Entity fields: the spec's vocabulary. Anything else is a typo and an error.
const std::vector<std::string_view> entity_keys = {
    "description", "profile", "from", "issuer", "subject", "san", "key", "digest", "serial",
    "validity", "version", "basic_constraints", "key_usage", "extended_key_usage",
    "name_constraints", "subject_key_identifier", "authority_key_identifier",
    "crl_distribution_points", "ocsp_urls", "ca_issuer_urls", "extensions", "defects", "trusted",
    "revocation", "crl"};

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
    root_.only_keys({"version", "description", "defaults", "server_name", "p12_password", "entities"});
    if (!root_.has("version")) root_.fail("missing \"version\" (this tool reads version 1)");
    if (root_.child("version").integer(1, 1000) != 1)
      root_.child("version").fail("unsupported version (this tool reads version 1)");
    if (root_.has("description")) (void)root_.child("description").string();
    if (root_.has("server_name")) spec_.server_name = root_.child("server_name").string();
    if (root_.has("p12_password")) spec_.p12_password = root_.child("p12_password").string();
    if (root_.has("defaults")) parse_defaults(root_.child("defaults"));
    if (!root_.has("entities")) root_.fail("missing \"entities\"");
    const Node entities = root_.child("entities");
    entities.expect_object();
    if (entities.value().empty()) entities.fail("a spec needs at least one entity");
    for (const auto& [name, _] : entities.value().items()) {
      const Node e = entities.child(name);
      if (!valid_entity_name(name))
        e.fail("entity names use letters, digits, '_', '-' and '.' (they become file names)");
      e.only_keys(entity_keys);
    }
    for (const auto& [name, _] : entities.value().items()) resolve_raw(name, {});
    order_and_build(entities);
    return std::move(spec_);
  }

private:
  void parse_defaults(const Node& d) {
    d.only_keys({"key", "digest"});
    if (d.has("key"))
      default_key_ = d.child("key").one_of("key", key_type_names(),
                                           [](const std::string& s) { return parse_key_type(s); });
    if (d.has("digest")) default_digest_ = parse_digest(d.child("digest"));
  }

  static std::string parse_digest(const Node& n) {
    const auto s = n.string();
    if (s != "sha256" && s != "sha384" && s != "sha512" && s != "sha1" && s != "md5")
      n.fail("expected one of sha256, sha384, sha512, sha1, md5, got \"" + s + "\"");
    return s;
  }

  // Merges `from` chains so a derived entity is its base's fields overridden by its own.
  const RawEntity& resolve_raw(const std::string& name, std::vector<std::string> visiting) {
    if (auto it = raw_.find(name); it != raw_.end()) return it->second;
    const Node e = root_.child("entities").child(name);
    visiting.push_back(name);
    RawEntity raw;
    if (e.has("from")) {
      const Node from = e.child("from");
      const std::string base = from.string();
      if (!root_.child("entities").has(base)) from.fail("no entity named \"" + base + "\"");
      if (std::find(visiting.begin(), visiting.end(), base) != visiting.end()) {
        std::string cycle;
        for (const auto& v : visiting) cycle += v + " -> ";
        from.fail("derivation cycle: " + cycle + base);
      }
      raw = resolve_raw(base, visiting);
      raw.fields.erase("description");
      raw.fields["from"] = {&from.value(), from.pointer()};
    }
    for (const auto& [key, value] : e.value().items()) {
      if (key == "from") continue;
      raw.fields[key] = {&value, e.pointer() + "/" + escape_pointer(key)};
    }
    return raw_.emplace(name, std::move(raw)).first->second;
  }

  std::optional<Node> field(const RawEntity& raw, std::string_view key) const {
    auto it = raw.fields.find(std::string(key));
    if (it == raw.fields.end()) return std::nullopt;
    return Node(*it->second.first, it->second.second, origin_);
  }

  void order_and_build(const Node& entities) {
    // Topological order by issuer; the order among independent entities follows their names.
    std::map<std::string, std::optional<std::string>> issuer_of;
    for (const auto& [name, _] : entities.value().items()) {
      const auto& raw = raw_.at(name);
      std::optional<std::string> issuer;
      const bool self_signed = declares_defect(raw, "self_signed");
      if (auto n = field(raw, "issuer"); n && !self_signed) {
        issuer = n->string();
        if (!entities.has(*issuer)) n->fail("no entity named \"" + *issuer + "\"");
        if (*issuer == name) n->fail("an entity cannot name itself as issuer (omit \"issuer\" for a self-signed root)");
      }
      issuer_of[name] = issuer;
    }
    std::set<std::string> done;
    std::function<void(const std::string&, std::vector<std::string>&)> visit =
        [&](const std::string& name, std::vector<std::string>& stack) {
          if (done.contains(name)) return;
          if (std::find(stack.begin(), stack.end(), name) != stack.end()) {
            std::string cycle;
            for (const auto& v : stack) cycle += v + " -> ";
            root_.child("entities").child(stack.back()).fail("issuer/derivation cycle: " + cycle + name);
          }
          stack.push_back(name);
          if (const auto& issuer = issuer_of.at(name)) visit(*issuer, stack);
          // A derived entity is built after its base (it may share the base's key).
          if (auto from = field(raw_.at(name), "from")) visit(from->string(), stack);
          stack.pop_back();
          done.insert(name);
          spec_.entities.push_back(build(name, issuer_of.at(name)));
        };
    for (const auto& [name, _] : entities.value().items()) {
      std::vector<std::string> stack;
      visit(name, stack);
    }
    for (auto& plan : spec_.entities) apply_defects(plan);
    check_consistency();
  }

  bool declares_defect(const RawEntity& raw, std::string_view defect) const {
    auto n = field(raw, "defects");
    if (!n || !n->value().is_array()) return false;
    for (const auto& d : n->value())
      if (d.is_string() && d.get<std::string>() == defect) return true;
    return false;
  }

  EntityPlan build(const std::string& name, const std::optional<std::string>& issuer) {
    const auto& raw = raw_.at(name);
    EntityPlan p;
    p.name = name;
    p.pointer = "/entities/" + escape_pointer(name);
    p.issuer = issuer;
    const Node self = root_.child("entities").child(name);

    const auto profile = field(raw, "profile");
    if (!profile) self.fail("missing \"profile\" (root, intermediate, server or client)");
    p.profile = profile->one_of("profile", "root, intermediate, server, client", parse_profile);
    if (p.profile == Profile::root && issuer)
      field(raw, "issuer")->fail("a root is self-signed: remove \"issuer\"");
    if (p.profile != Profile::root && !issuer && !declares_defect(raw, "self_signed"))
      self.fail("missing \"issuer\" (only roots and self_signed certificates have none)");
    if (issuer) {
      const auto& issuer_profile = field(raw_.at(*issuer), "profile");
      const auto ip = issuer_profile ? parse_profile(issuer_profile->string()) : std::nullopt;
      if (ip && !is_ca(*ip))
        field(raw, "issuer")->fail("\"" + *issuer + "\" is a " + std::string(profile_name(*ip)) +
                                   " certificate, not a CA (root or intermediate)");
    }
    if (auto n = field(raw, "description")) p.description = n->string();

    p.key_type = default_key_;
    if (auto n = field(raw, "key"))
      p.key_type = n->one_of("key", key_type_names(), [](const std::string& s) { return parse_key_type(s); });
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
      if (server && is_rsa(p.key_type)) c.key_usage->usages.push_back("keyEncipherment");
      c.extended_key_usage = ExtendedKeyUsage{{server ? "serverAuth" : "clientAuth"}, false};
      if (server) c.subject_alt_names = {"DNS:" + spec_.server_name, "IP:127.0.0.1", "IP:::1"};
      c.not_before = spec_.now - std::chrono::days(1);
      c.not_after = spec_.now + std::chrono::days(365);
      break;
    }
    case Profile::invalid: break;
    }
    if (is_ca(p.profile))
      p.crl = CrlPlan{spec_.now - std::chrono::days(1), spec_.now + std::chrono::days(30), 1, c.digest};

    apply_overrides(raw, p);
    return p;
  }

  void apply_overrides(const RawEntity& raw, EntityPlan& p) {
    auto& c = p.cert;
    if (auto n = field(raw, "subject")) {
      c.subject = n->string();
      if (auto err = subject_error(c.subject)) n->fail(*err);
    }
    if (auto n = field(raw, "san")) {
      c.subject_alt_names = n->strings();
      for (std::size_t i = 0; i < c.subject_alt_names.size(); ++i)
        if (auto err = general_name_error(c.subject_alt_names[i], false)) n->element(i).fail(*err);
    }
    if (auto n = field(raw, "digest")) {
      c.digest = parse_digest(*n);
      if (p.crl) p.crl->digest = c.digest;
    }
    if (auto n = field(raw, "serial")) {
      c.serial = parse_hex(*n, "a serial number");
      if (c.serial.size() > 20) n->fail("a serial number has at most 20 bytes (RFC 5280 §4.1.2.2)");
      if (std::all_of(c.serial.begin(), c.serial.end(), [](auto b) { return b == 0; }))
        n->fail("a serial number must be positive");
      p.serial_given = true;
    }
    if (auto n = field(raw, "validity")) {
      n->only_keys({"not_before", "not_after"});
      if (n->has("not_before")) c.not_before = parse_time_node(n->child("not_before"), spec_.now);
      if (n->has("not_after")) c.not_after = parse_time_node(n->child("not_after"), spec_.now);
      if (c.not_after < c.not_before) n->fail("not_after is before not_before");
    }
    if (auto n = field(raw, "version")) {
      c.version = static_cast<int>(n->integer(1, 3));
      if (c.version == 2) n->fail("expected 1 or 3 (version 2 certificates are not issued)");
    }
    if (auto n = field(raw, "basic_constraints")) {
      if (n->value().is_null()) {
        c.basic_constraints.reset();
      } else {
        n->only_keys({"ca", "path_len", "critical"});
        BasicConstraints bc;
        if (!n->has("ca")) n->fail("missing \"ca\"");
        bc.ca = n->child("ca").boolean();
        if (n->has("path_len")) bc.path_len = static_cast<int>(n->child("path_len").integer(0, 255));
        if (n->has("critical")) bc.critical = n->child("critical").boolean();
        c.basic_constraints = bc;
      }
    }
    if (auto n = field(raw, "key_usage")) {
      if (n->value().is_null()) {
        c.key_usage.reset();
      } else {
        n->only_keys({"usages", "critical"});
        KeyUsage ku;
        if (!n->has("usages")) n->fail("missing \"usages\"");
        ku.usages = n->child("usages").strings();
        for (std::size_t i = 0; i < ku.usages.size(); ++i)
          if (std::find(key_usage_names.begin(), key_usage_names.end(), ku.usages[i]) == key_usage_names.end())
            n->child("usages").element(i).fail("expected one of " + join_names(key_usage_names) +
                                               ", got \"" + ku.usages[i] + "\"");
        if (ku.usages.empty()) n->child("usages").fail("a keyUsage extension needs at least one usage");
        if (n->has("critical")) ku.critical = n->child("critical").boolean();
        c.key_usage = ku;
      }
    }
    if (auto n = field(raw, "extended_key_usage")) {
      if (n->value().is_null()) {
        c.extended_key_usage.reset();
      } else {
        n->only_keys({"purposes", "critical"});
        ExtendedKeyUsage eku;
        if (!n->has("purposes")) n->fail("missing \"purposes\"");
        eku.purposes = n->child("purposes").strings();
        for (std::size_t i = 0; i < eku.purposes.size(); ++i)
          if (std::find(eku_names.begin(), eku_names.end(), eku.purposes[i]) == eku_names.end() &&
              !is_dotted_oid(eku.purposes[i]))
            n->child("purposes").element(i).fail("expected one of " + join_names(eku_names) +
                                                 " or a dotted OID, got \"" + eku.purposes[i] + "\"");
        if (eku.purposes.empty()) n->child("purposes").fail("an extendedKeyUsage extension needs at least one purpose");
        if (n->has("critical")) eku.critical = n->child("critical").boolean();
        c.extended_key_usage = eku;
      }
    }
    if (auto n = field(raw, "name_constraints")) {
      n->only_keys({"permitted", "excluded", "critical"});
      NameConstraints nc;
      for (auto which : {"permitted", "excluded"}) {
        if (!n->has(which)) continue;
        auto list = n->child(which).strings();
        for (std::size_t i = 0; i < list.size(); ++i)
          if (auto err = general_name_error(list[i], true)) n->child(which).element(i).fail(*err);
        (std::string_view(which) == "permitted" ? nc.permitted : nc.excluded) = list;
      }
      if (nc.permitted.empty() && nc.excluded.empty()) n->fail("name constraints need permitted or excluded names");
      if (n->has("critical")) nc.critical = n->child("critical").boolean();
      c.name_constraints = nc;
    }
    if (auto n = field(raw, "subject_key_identifier")) c.subject_key_identifier = n->boolean();
    if (auto n = field(raw, "authority_key_identifier")) c.authority_key_identifier = n->boolean();
    if (auto n = field(raw, "crl_distribution_points")) c.crl_distribution_points = urls(*n);
    if (auto n = field(raw, "ocsp_urls")) c.ocsp_urls = urls(*n);
    if (auto n = field(raw, "ca_issuer_urls")) c.ca_issuer_urls = urls(*n);
    if (auto n = field(raw, "extensions")) {
      if (!n->value().is_array()) n->fail("expected an array of {oid, critical, der}");
      for (std::size_t i = 0; i < n->value().size(); ++i) {
        const Node e = n->element(i);
        e.only_keys({"oid", "critical", "der"});
        RawExtension ext;
        if (!e.has("oid")) e.fail("missing \"oid\"");
        ext.oid = e.child("oid").string();
        if (!is_dotted_oid(ext.oid)) e.child("oid").fail("expected a dotted OID such as 1.3.6.1.4.1.99999.1");
        if (e.has("critical")) ext.critical = e.child("critical").boolean();
        if (!e.has("der")) e.fail("missing \"der\" (the extension value, hex)");
        ext.der = parse_hex(e.child("der"), "the DER value");
        c.extra_extensions.push_back(std::move(ext));
      }
    }
    if (auto n = field(raw, "trusted")) {
      if (p.profile != Profile::root) n->fail("only a root can be a trust anchor");
      p.trusted = n->boolean();
    }
    if (auto n = field(raw, "revocation")) {
      n->only_keys({"date", "reason"});
      Revocation r{spec_.now - std::chrono::days(1), "keyCompromise"};
      if (n->has("date")) r.date = parse_time_node(n->child("date"), spec_.now);
      if (n->has("reason")) {
        r.reason = n->child("reason").string();
        if (!parse_crl_reason(r.reason))
          n->child("reason").fail("expected one of " + crl_reason_names() + ", got \"" + r.reason + "\"");
      }
      if (!p.issuer) n->fail("a self-signed certificate cannot be revoked (no issuer CRL)");
      p.revocation = r;
    }
    if (auto n = field(raw, "crl")) {
      if (!is_ca(p.profile)) n->fail("only CAs (root, intermediate) issue CRLs");
      n->only_keys({"this_update", "next_update", "number"});
      if (n->has("this_update")) p.crl->this_update = parse_time_node(n->child("this_update"), spec_.now);
      if (n->has("next_update")) p.crl->next_update = parse_time_node(n->child("next_update"), spec_.now);
      if (n->has("number")) p.crl->number = static_cast<std::uint64_t>(n->child("number").integer(0, 1LL << 62));
      if (p.crl->next_update < p.crl->this_update) n->fail("next_update is before this_update");
    }
    if (c.version == 1) {
      // An X.509 v1 certificate has no extensions at all.
      c.basic_constraints.reset();
      c.key_usage.reset();
      c.extended_key_usage.reset();
      c.subject_alt_names.clear();
      c.subject_key_identifier = c.authority_key_identifier = false;
    }
  }

  static std::vector<std::string> urls(const Node& n) {
    auto list = n.strings();
    for (std::size_t i = 0; i < list.size(); ++i)
      if (list[i].find("://") == std::string::npos || list[i].find(',') != std::string::npos)
        n.element(i).fail("expected a URL such as http://crl.example/ca.crl");
    return list;
  }

  void apply_defects(EntityPlan& p) {
    const auto& raw = raw_.at(p.name);
    auto n = field(raw, "defects");
    if (!n) return;
    const auto names = n->strings();
    for (std::size_t i = 0; i < names.size(); ++i) {
      const Node d = n->element(i);
      const DefectInfo* defect = find_defect(names[i]);
      if (defect == nullptr)
        d.fail("unknown defect \"" + names[i] + "\" (`tlsmatrix pki defects` lists them)");
      if (std::find(defect->applies_to.begin(), defect->applies_to.end(), p.profile) == defect->applies_to.end()) {
        std::string profiles;
        for (auto ap : defect->applies_to) profiles += (profiles.empty() ? "" : ", ") + std::string(profile_name(ap));
        d.fail("defect \"" + names[i] + "\" applies to " + profiles + " certificates, not " +
               std::string(profile_name(p.profile)));
      }
      if (std::find(p.defects.begin(), p.defects.end(), names[i]) != p.defects.end())
        d.fail("defect \"" + names[i] + "\" is listed twice");
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
      const Node self = root_.child("entities").child(p.name);
      if (chain.size() > 16) self.fail("chain deeper than 16 certificates");
      if (p.cert.digest == "md5" && !is_rsa((p.issuer ? spec_.at(*p.issuer) : p).key_type))
        self.fail("an MD5 signature needs an RSA issuer key (ECDSA and EdDSA have no MD5 variant)");
      if (p.cert.version == 1 && p.profile != Profile::root && p.profile != Profile::intermediate)
        self.fail("version 1 is only for CAs (v1_issuer); leaves need extensions");
    }
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
  case Profile::root: return "root";
  case Profile::intermediate: return "intermediate";
  case Profile::server: return "server";
  case Profile::client: return "client";
  case Profile::invalid: break;
  }
  return "invalid";
}

const EntityPlan* Spec::find(std::string_view name) const {
  for (const auto& e : entities)
    if (e.name == name) return &e;
  return nullptr;
}

const EntityPlan& Spec::at(std::string_view name) const {
  if (const auto* e = find(name)) return *e;
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
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(Errc::invalid_input, std::string(origin) + ": not valid JSON: " + e.what());
  }
  return Parser(root, origin, now).run();
}

Spec load_spec(const std::filesystem::path& path, TimePoint now) {
  return parse_spec(read_file(path), path.string(), now);
}

Spec default_spec(TimePoint now) { return parse_spec(default_spec_json(), "<built-in default spec>", now); }

} // namespace pki

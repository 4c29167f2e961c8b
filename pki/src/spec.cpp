// Strict parsing of the PKI spec: derivation, profiles, overrides and defects, with every error
// naming the file and the JSON pointer of the offending value.
#include "pki/spec.hpp"

#include <algorithm>
#include <climits>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>
#include <openssl/asn1.h>
#include <openssl/objects.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/json_node.hpp"
#include "pki/defects.hpp"
#include "pki/ossl.hpp"

namespace pki {
using common::did_you_mean;
using common::escape_json_pointer;
using common::json_type_name;
using common::JsonNode;
using common::parse_json_document;
using common::read_file;
using common::split_names;
namespace {

using json = nlohmann::json;
using tlsmatrix::Errc;
using tlsmatrix::Error;

std::vector<std::string_view> defect_names() {
  std::vector<std::string_view> out;
  for (const auto& d : defect_catalog())
    out.push_back(d.name);
  return out;
}

using Node = JsonNode;

// "a server", "an intermediate": for messages.
std::string a_profile(Profile p) {
  return (p == Profile::intermediate ? "an " : "a ") + std::string(profile_name(p));
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

Bytes parse_hex(const Node& node, std::string_view what) {
  std::string text = node.string();
  if (text.starts_with("0x") || text.starts_with("0X"))
    text = text.substr(2);
  std::erase(text, ':');
  if (text.empty() || text.size() % 2 != 0 || !std::all_of(text.begin(), text.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c));
      }))
    node.fail("expected " + std::string(what) + " as an even number of hex digits, got \"" +
              node.string() + "\"");
  Bytes out;
  for (std::size_t i = 0; i < text.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(text.substr(i, 2), nullptr, 16)));
  return out;
}

// The times an X.509 GeneralizedTime (4-digit year) can hold.
const TimePoint earliest_time = std::chrono::sys_days(std::chrono::year(0) / 1 / 1);
const TimePoint latest_time =
    std::chrono::sys_days(std::chrono::year(9999) / 12 / 31) + std::chrono::seconds(86399);

bool encodable_time(TimePoint t) {
  return t >= earliest_time && t <= latest_time;
}

int year_of(TimePoint t) {
  return static_cast<int>(
      std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(t)).year());
}

TimePoint parse_time_node(const Node& node, TimePoint now) {
  const auto text = node.string();
  const auto t = parse_time(text, now);
  if (!t)
    node.fail("expected a time: \"now\", an offset such as \"-30d\" or \"+1y\" (s, m, h, d, y), or "
              "\"2026-01-31T12:00:00Z\", got \"" +
              text + "\"");
  if (!encodable_time(*t))
    node.fail("expected a time from year 0000 to 9999 (what a certificate can encode), got \"" +
              text + "\", year " + std::to_string(year_of(*t)));
  return *t;
}

const std::vector<std::string_view> key_usage_names = {
    "digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment", "keyAgreement",
    "keyCertSign",      "cRLSign",        "encipherOnly",    "decipherOnly"};
const std::vector<std::string_view> eku_names = {"serverAuth",      "clientAuth",   "codeSigning",
                                                 "emailProtection", "timeStamping", "OCSPSigning"};

bool is_dotted_oid(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.')
    return false;
  int dots = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      if (s[i + 1] == '.')
        return false;
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  if (dots < 1)
    return false;
  // The arcs' rules (first arc 0-2, second below 40 under 0 and 1, sizes): OpenSSL's encoder
  // decides, here rather than at issuance.
  const ossl::Asn1ObjectPtr obj(OBJ_txt2obj(std::string(s).c_str(), 1));
  if (!obj)
    ossl::clear_errors();
  return obj != nullptr;
}

std::string join_names(const std::vector<std::string_view>& names) {
  std::string out;
  for (auto n : names)
    out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

// Entity fields: the spec's vocabulary. Anything else is a typo and an error.
const std::vector<std::string_view> entity_keys = {"description",
                                                   "profile",
                                                   "from",
                                                   "issuer",
                                                   "subject",
                                                   "san",
                                                   "key",
                                                   "digest",
                                                   "serial",
                                                   "validity",
                                                   "version",
                                                   "basic_constraints",
                                                   "key_usage",
                                                   "extended_key_usage",
                                                   "name_constraints",
                                                   "subject_key_identifier",
                                                   "authority_key_identifier",
                                                   "crl_distribution_points",
                                                   "ocsp_urls",
                                                   "ca_issuer_urls",
                                                   "extensions",
                                                   "defects",
                                                   "trusted",
                                                   "revocation",
                                                   "crl"};

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
      e.only_keys(entity_keys);
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

  static std::string parse_digest(const Node& n) {
    const auto s = n.string();
    if (s != "sha256" && s != "sha384" && s != "sha512" && s != "sha1" && s != "md5")
      n.fail(
          "expected one of sha256, sha384, sha512, sha1, md5, got \"" + s + "\"" +
          did_you_mean(s, std::vector<std::string>{"sha256", "sha384", "sha512", "sha1", "md5"}));
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

  void apply_overrides(const RawEntity& raw, EntityPlan& p) {
    auto& c = p.cert;
    if (auto n = field(raw, "subject")) {
      c.subject = n->string();
      check_subject(*n, c.subject);
    }
    if (auto n = field(raw, "san")) {
      c.subject_alt_names = n->strings();
      for (std::size_t i = 0; i < c.subject_alt_names.size(); ++i)
        if (auto err = general_name_error(c.subject_alt_names[i], false))
          n->element(i).fail(
              "expected a name such as DNS:localhost, IP:127.0.0.1, email:a@example.com or "
              "URI:https://example.com, got \"" +
              c.subject_alt_names[i] + "\": " + *err);
    }
    if (auto n = field(raw, "digest")) {
      c.digest = parse_digest(*n);
      if (p.crl)
        p.crl->digest = c.digest;
    }
    if (auto n = field(raw, "serial")) {
      c.serial = parse_hex(*n, "a serial number");
      if (c.serial.size() > 20)
        n->fail("expected at most 20 bytes (RFC 5280 §4.1.2.2), got " +
                std::to_string(c.serial.size()));
      if (std::all_of(c.serial.begin(), c.serial.end(), [](auto b) { return b == 0; }))
        n->fail("expected a positive serial number, got zero (RFC 5280 §4.1.2.2)");
      p.serial_given = true;
    }
    if (auto n = field(raw, "validity")) {
      n->only_keys({"not_before", "not_after"});
      if (n->has("not_before"))
        c.not_before = parse_time_node(n->child("not_before"), spec_.now);
      if (n->has("not_after"))
        c.not_after = parse_time_node(n->child("not_after"), spec_.now);
      if (c.not_after < c.not_before)
        n->child(n->has("not_after") ? "not_after" : "not_before")
            .fail("expected not_after at or after not_before, got not_after " +
                  format_time(c.not_after) + " before not_before " + format_time(c.not_before) +
                  (n->has("not_before") && n->has("not_after")
                       ? ""
                       : std::string(" (the other one is the ") +
                             std::string(profile_name(p.profile)) +
                             " profile's default: set both)"));
    }
    if (auto n = field(raw, "version")) {
      if (!n->value().is_number_integer() || (n->value() != 1 && n->value() != 3))
        n->fail("expected 1 or 3, got " + n->value().dump() + " (X.509 version 2 is not issued)");
      c.version = n->value().get<int>();
    }
    if (auto n = field(raw, "basic_constraints")) {
      if (n->value().is_null()) {
        c.basic_constraints.reset();
      } else {
        expect_extension_object(*n, "{\"ca\": true, \"path_len\": 0, \"critical\": true}");
        n->only_keys({"ca", "path_len", "critical"});
        BasicConstraints bc;
        if (!n->has("ca"))
          n->missing("ca", "true or false");
        bc.ca = n->child("ca").boolean();
        if (n->has("path_len"))
          bc.path_len = static_cast<int>(n->child("path_len").integer(0, 255));
        if (n->has("critical"))
          bc.critical = n->child("critical").boolean();
        c.basic_constraints = bc;
      }
    }
    if (auto n = field(raw, "key_usage")) {
      if (n->value().is_null()) {
        c.key_usage.reset();
      } else {
        expect_extension_object(*n, "{\"usages\": [\"digitalSignature\"], \"critical\": true}");
        n->only_keys({"usages", "critical"});
        KeyUsage ku;
        if (!n->has("usages"))
          n->missing("usages", "an array of " + join_names(key_usage_names));
        ku.usages = n->child("usages").strings();
        for (std::size_t i = 0; i < ku.usages.size(); ++i)
          if (std::find(key_usage_names.begin(), key_usage_names.end(), ku.usages[i]) ==
              key_usage_names.end())
            n->child("usages").element(i).fail("expected one of " + join_names(key_usage_names) +
                                               ", got \"" + ku.usages[i] + "\"" +
                                               did_you_mean(ku.usages[i], key_usage_names));
        if (ku.usages.empty())
          n->child("usages").fail(
              "expected at least one usage (or \"key_usage\": null for no extension)");
        if (n->has("critical"))
          ku.critical = n->child("critical").boolean();
        c.key_usage = ku;
      }
    }
    if (auto n = field(raw, "extended_key_usage")) {
      if (n->value().is_null()) {
        c.extended_key_usage.reset();
      } else {
        expect_extension_object(*n, "{\"purposes\": [\"serverAuth\"], \"critical\": false}");
        n->only_keys({"purposes", "critical"});
        ExtendedKeyUsage eku;
        if (!n->has("purposes"))
          n->missing("purposes", "an array of " + join_names(eku_names) + " or dotted OIDs");
        eku.purposes = n->child("purposes").strings();
        for (std::size_t i = 0; i < eku.purposes.size(); ++i)
          if (std::find(eku_names.begin(), eku_names.end(), eku.purposes[i]) == eku_names.end() &&
              !is_dotted_oid(eku.purposes[i]))
            n->child("purposes")
                .element(i)
                .fail("expected one of " + join_names(eku_names) + " or a dotted OID, got \"" +
                      eku.purposes[i] + "\"" + did_you_mean(eku.purposes[i], eku_names));
        if (eku.purposes.empty())
          n->child("purposes")
              .fail("expected at least one purpose (or \"extended_key_usage\": null for no "
                    "extension)");
        if (n->has("critical"))
          eku.critical = n->child("critical").boolean();
        c.extended_key_usage = eku;
      }
    }
    if (auto n = field(raw, "name_constraints")) {
      n->only_keys({"permitted", "excluded", "critical"});
      NameConstraints nc;
      for (auto which : {"permitted", "excluded"}) {
        if (!n->has(which))
          continue;
        auto list = n->child(which).strings();
        for (std::size_t i = 0; i < list.size(); ++i)
          if (auto err = general_name_error(list[i], true))
            n->child(which).element(i).fail("expected a name constraint such as DNS:example.com or "
                                            "IP:10.0.0.0/8, got \"" +
                                            list[i] + "\": " + *err);
        (std::string_view(which) == "permitted" ? nc.permitted : nc.excluded) = list;
      }
      if (nc.permitted.empty() && nc.excluded.empty())
        n->fail("expected \"permitted\" or \"excluded\" names such as [\"DNS:example.com\", "
                "\"IP:10.0.0.0/8\"]");
      if (n->has("critical"))
        nc.critical = n->child("critical").boolean();
      c.name_constraints = nc;
    }
    if (auto n = field(raw, "subject_key_identifier"))
      c.subject_key_identifier = n->boolean();
    if (auto n = field(raw, "authority_key_identifier"))
      c.authority_key_identifier = n->boolean();
    if (auto n = field(raw, "crl_distribution_points"))
      c.crl_distribution_points = urls(*n);
    if (auto n = field(raw, "ocsp_urls"))
      c.ocsp_urls = urls(*n);
    if (auto n = field(raw, "ca_issuer_urls"))
      c.ca_issuer_urls = urls(*n);
    if (auto n = field(raw, "extensions")) {
      if (!n->value().is_array())
        n->fail("expected an array of {oid, critical, der}");
      for (std::size_t i = 0; i < n->value().size(); ++i) {
        const Node e = n->element(i);
        e.only_keys({"oid", "critical", "der"});
        RawExtension ext;
        if (!e.has("oid"))
          e.missing("oid", "a dotted OID such as 1.3.6.1.4.1.99999.1");
        ext.oid = e.child("oid").string();
        if (!is_dotted_oid(ext.oid))
          e.child("oid").fail("expected a dotted OID such as 1.3.6.1.4.1.99999.1, got \"" +
                              ext.oid + "\"");
        if (e.has("critical"))
          ext.critical = e.child("critical").boolean();
        if (!e.has("der"))
          e.missing("der", "the extension value as hex DER, such as \"0500\" (NULL)");
        ext.der = parse_hex(e.child("der"), "the DER value");
        c.extra_extensions.push_back(std::move(ext));
      }
    }
    if (auto n = field(raw, "trusted")) {
      p.trusted = n->boolean();
      if (p.profile != Profile::root)
        n->fail("expected no \"trusted\" on " + a_profile(p.profile) +
                " certificate: only a root can be a trust anchor");
    }
    if (auto n = field(raw, "revocation")) {
      n->only_keys({"date", "reason"});
      Revocation r{spec_.now - std::chrono::days(1), "keyCompromise"};
      if (n->has("date"))
        r.date = parse_time_node(n->child("date"), spec_.now);
      if (n->has("reason")) {
        r.reason = n->child("reason").string();
        if (!parse_crl_reason(r.reason))
          n->child("reason").fail("expected one of " + crl_reason_names() + ", got \"" + r.reason +
                                  "\"" + did_you_mean(r.reason, split_names(crl_reason_names())));
      }
      if (!p.issuer)
        n->fail("expected no \"revocation\" on a self-signed certificate (there is no issuer CRL "
                "to list it on)");
      p.revocation = r;
    }
    if (auto n = field(raw, "crl")) {
      if (!is_ca(p.profile))
        n->fail("expected no \"crl\" on " + a_profile(p.profile) +
                " certificate: only CAs (root, intermediate) issue CRLs");
      n->only_keys({"this_update", "next_update", "number"});
      if (n->has("this_update"))
        p.crl->this_update = parse_time_node(n->child("this_update"), spec_.now);
      if (n->has("next_update"))
        p.crl->next_update = parse_time_node(n->child("next_update"), spec_.now);
      if (n->has("number"))
        p.crl->number = static_cast<std::uint64_t>(n->child("number").integer(0, 1LL << 62));
      if (p.crl->next_update < p.crl->this_update)
        n->child(n->has("next_update") ? "next_update" : "this_update")
            .fail("expected next_update at or after this_update, got next_update " +
                  format_time(p.crl->next_update) + " before this_update " +
                  format_time(p.crl->this_update) +
                  (n->has("this_update") && n->has("next_update")
                       ? ""
                       : " (the other one is the default: set both)"));
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
        n.element(i).fail("expected a URL such as http://crl.example/ca.crl, got \"" + list[i] +
                          "\"");
    return list;
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

  // A nullable extension field: an object, or null for "no such extension".
  static void expect_extension_object(const Node& n, std::string_view example) {
    if (!n.value().is_object())
      n.fail("expected an object such as " + std::string(example) +
             ", or null for no extension, got " + json_type_name(n.value()));
  }

  // subject_error() checks the form and attribute names; OpenSSL's string table adds the sizes
  // (C is exactly 2 characters, CN at most 64, …), which would otherwise fail only at issuance.
  static void check_subject(const Node& n, const std::string& subject) {
    if (auto err = subject_error(subject)) {
      const std::string expected =
          "expected the form /O=Org/CN=name (attributes such as C, ST, L, O, OU, CN), got \"" +
          subject + "\"";
      n.fail(err->starts_with("expected") ? expected : *err + "; " + expected);
    }
    std::vector<std::string> parts(1);
    for (std::size_t i = 1; i < subject.size(); ++i) {
      if (subject[i] == '\\' && i + 1 < subject.size())
        parts.back() += subject[++i];
      else if (subject[i] == '/')
        parts.emplace_back();
      else
        parts.back() += subject[i];
    }
    for (const auto& part : parts) {
      const auto eq = part.find('=');
      const std::string attr = part.substr(0, eq), value = part.substr(eq + 1);
      const long chars = std::count_if(value.begin(), value.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80; // UTF-8: count lead bytes only
      });
      long min = 1, max = -1;
      if (const ASN1_STRING_TABLE* t = ASN1_STRING_TABLE_get(OBJ_txt2nid(attr.c_str()))) {
        min = std::max(1L, t->minsize);
        max = t->maxsize;
      }
      if (chars < min || (max >= 0 && chars > max))
        n.fail("expected " + attr + " to have " +
               (max < 0      ? "a value"
                : min == max ? std::to_string(min) + " characters"
                             : std::to_string(min) + " to " + std::to_string(max) + " characters") +
               ", got \"" + value + "\" (" + std::to_string(chars) + ")");
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

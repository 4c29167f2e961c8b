// The entity fields of a PKI spec: one handler per field that overrides a profile's defaults,
// and the table that names every field the spec knows.
#include "spec_fields.hpp"

#include <algorithm>
#include <cctype>

#include <openssl/asn1.h>
#include <openssl/objects.h>

#include "common/error.hpp"
#include "pki/defects.hpp"
#include "pki/ossl.hpp"

namespace pki::spec_fields {

using common::did_you_mean;
using common::json_type_name;
using common::split_names;

// "a server", "an intermediate": for messages.
std::string a_profile(Profile p) {
  return (p == Profile::intermediate ? "an " : "a ") + std::string(profile_name(p));
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

std::string parse_digest(const Node& n) {
  const auto s = n.string();
  if (s != "sha256" && s != "sha384" && s != "sha512" && s != "sha1" && s != "md5")
    n.fail("expected one of sha256, sha384, sha512, sha1, md5, got \"" + s + "\"" +
           did_you_mean(s, std::vector<std::string>{"sha256", "sha384", "sha512", "sha1", "md5"}));
  return s;
}

namespace {

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

std::vector<std::string> urls(const Node& n) {
  auto list = n.strings();
  for (std::size_t i = 0; i < list.size(); ++i)
    if (list[i].find("://") == std::string::npos || list[i].find(',') != std::string::npos)
      n.element(i).fail("expected a URL such as http://crl.example/ca.crl, got \"" + list[i] +
                        "\"");
  return list;
}

// A nullable extension field: an object, or null for "no such extension".
void expect_extension_object(const Node& n, std::string_view example) {
  if (!n.value().is_object())
    n.fail("expected an object such as " + std::string(example) +
           ", or null for no extension, got " + json_type_name(n.value()));
}

// subject_error() checks the form and attribute names; OpenSSL's string table adds the sizes
// (C is exactly 2 characters, CN at most 64, …), which would otherwise fail only at issuance.
void check_subject(const Node& n, const std::string& subject) {
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

// ---- the handlers, one per overriding field

void set_subject(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  c.subject = n.string();
  check_subject(n, c.subject);
}

void set_san(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  c.subject_alt_names = n.strings();
  for (std::size_t i = 0; i < c.subject_alt_names.size(); ++i)
    if (auto err = general_name_error(c.subject_alt_names[i], false))
      n.element(i).fail(
          "expected a name such as DNS:localhost, IP:127.0.0.1, email:a@example.com or "
          "URI:https://example.com, got \"" +
          c.subject_alt_names[i] + "\": " + *err);
}

void set_digest(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  c.digest = parse_digest(n);
  if (p.crl)
    p.crl->digest = c.digest;
}

void set_serial(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  c.serial = parse_hex(n, "a serial number");
  if (c.serial.size() > 20)
    n.fail("expected at most 20 bytes (RFC 5280 §4.1.2.2), got " + std::to_string(c.serial.size()));
  if (std::all_of(c.serial.begin(), c.serial.end(), [](auto b) { return b == 0; }))
    n.fail("expected a positive serial number, got zero (RFC 5280 §4.1.2.2)");
  p.serial_given = true;
}

void set_validity(const Node& n, EntityPlan& p, const FieldContext& ctx) {
  auto& c = p.cert;
  n.only_keys({"not_before", "not_after"});
  if (n.has("not_before"))
    c.not_before = parse_time_node(n.child("not_before"), ctx.now);
  if (n.has("not_after"))
    c.not_after = parse_time_node(n.child("not_after"), ctx.now);
  if (c.not_after < c.not_before)
    n.child(n.has("not_after") ? "not_after" : "not_before")
        .fail("expected not_after at or after not_before, got not_after " +
              format_time(c.not_after) + " before not_before " + format_time(c.not_before) +
              (n.has("not_before") && n.has("not_after")
                   ? ""
                   : std::string(" (the other one is the ") + std::string(profile_name(p.profile)) +
                         " profile's default: set both)"));
}

void set_version(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  if (!n.value().is_number_integer() || (n.value() != 1 && n.value() != 3))
    n.fail("expected 1 or 3, got " + n.value().dump() + " (X.509 version 2 is not issued)");
  c.version = n.value().get<int>();
}

void set_basic_constraints(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  if (n.value().is_null()) {
    c.basic_constraints.reset();
  } else {
    expect_extension_object(n, "{\"ca\": true, \"path_len\": 0, \"critical\": true}");
    n.only_keys({"ca", "path_len", "critical"});
    BasicConstraints bc;
    if (!n.has("ca"))
      n.missing("ca", "true or false");
    bc.ca = n.child("ca").boolean();
    if (n.has("path_len"))
      bc.path_len = static_cast<int>(n.child("path_len").integer(0, 255));
    if (n.has("critical"))
      bc.critical = n.child("critical").boolean();
    c.basic_constraints = bc;
  }
}

void set_key_usage(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  if (n.value().is_null()) {
    c.key_usage.reset();
  } else {
    expect_extension_object(n, "{\"usages\": [\"digitalSignature\"], \"critical\": true}");
    n.only_keys({"usages", "critical"});
    KeyUsage ku;
    if (!n.has("usages"))
      n.missing("usages", "an array of " + join_names(key_usage_names));
    ku.usages = n.child("usages").strings();
    for (std::size_t i = 0; i < ku.usages.size(); ++i)
      if (std::find(key_usage_names.begin(), key_usage_names.end(), ku.usages[i]) ==
          key_usage_names.end())
        n.child("usages").element(i).fail("expected one of " + join_names(key_usage_names) +
                                          ", got \"" + ku.usages[i] + "\"" +
                                          did_you_mean(ku.usages[i], key_usage_names));
    if (ku.usages.empty())
      n.child("usages").fail(
          "expected at least one usage (or \"key_usage\": null for no extension)");
    if (n.has("critical"))
      ku.critical = n.child("critical").boolean();
    c.key_usage = ku;
  }
}

void set_extended_key_usage(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  if (n.value().is_null()) {
    c.extended_key_usage.reset();
  } else {
    expect_extension_object(n, "{\"purposes\": [\"serverAuth\"], \"critical\": false}");
    n.only_keys({"purposes", "critical"});
    ExtendedKeyUsage eku;
    if (!n.has("purposes"))
      n.missing("purposes", "an array of " + join_names(eku_names) + " or dotted OIDs");
    eku.purposes = n.child("purposes").strings();
    for (std::size_t i = 0; i < eku.purposes.size(); ++i)
      if (std::find(eku_names.begin(), eku_names.end(), eku.purposes[i]) == eku_names.end() &&
          !is_dotted_oid(eku.purposes[i]))
        n.child("purposes")
            .element(i)
            .fail("expected one of " + join_names(eku_names) + " or a dotted OID, got \"" +
                  eku.purposes[i] + "\"" + did_you_mean(eku.purposes[i], eku_names));
    if (eku.purposes.empty())
      n.child("purposes")
          .fail("expected at least one purpose (or \"extended_key_usage\": null for no "
                "extension)");
    if (n.has("critical"))
      eku.critical = n.child("critical").boolean();
    c.extended_key_usage = eku;
  }
}

void set_name_constraints(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  n.only_keys({"permitted", "excluded", "critical"});
  NameConstraints nc;
  for (auto which : {"permitted", "excluded"}) {
    if (!n.has(which))
      continue;
    auto list = n.child(which).strings();
    for (std::size_t i = 0; i < list.size(); ++i)
      if (auto err = general_name_error(list[i], true))
        n.child(which).element(i).fail("expected a name constraint such as DNS:example.com or "
                                       "IP:10.0.0.0/8, got \"" +
                                       list[i] + "\": " + *err);
    (std::string_view(which) == "permitted" ? nc.permitted : nc.excluded) = list;
  }
  if (nc.permitted.empty() && nc.excluded.empty())
    n.fail("expected \"permitted\" or \"excluded\" names such as [\"DNS:example.com\", "
           "\"IP:10.0.0.0/8\"]");
  if (n.has("critical"))
    nc.critical = n.child("critical").boolean();
  c.name_constraints = nc;
}

void set_subject_key_identifier(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  c.subject_key_identifier = n.boolean();
}

void set_authority_key_identifier(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  c.authority_key_identifier = n.boolean();
}

void set_crl_distribution_points(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  c.crl_distribution_points = urls(n);
}

void set_ocsp_urls(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  c.ocsp_urls = urls(n);
}

void set_ca_issuer_urls(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  c.ca_issuer_urls = urls(n);
}

void set_extensions(const Node& n, EntityPlan& p, const FieldContext&) {
  auto& c = p.cert;
  if (!n.value().is_array())
    n.fail("expected an array of {oid, critical, der}");
  for (std::size_t i = 0; i < n.value().size(); ++i) {
    const Node e = n.element(i);
    e.only_keys({"oid", "critical", "der"});
    RawExtension ext;
    if (!e.has("oid"))
      e.missing("oid", "a dotted OID such as 1.3.6.1.4.1.99999.1");
    ext.oid = e.child("oid").string();
    if (!is_dotted_oid(ext.oid))
      e.child("oid").fail("expected a dotted OID such as 1.3.6.1.4.1.99999.1, got \"" + ext.oid +
                          "\"");
    if (e.has("critical"))
      ext.critical = e.child("critical").boolean();
    if (!e.has("der"))
      e.missing("der", "the extension value as hex DER, such as \"0500\" (NULL)");
    ext.der = parse_hex(e.child("der"), "the DER value");
    c.extra_extensions.push_back(std::move(ext));
  }
}

void set_trusted(const Node& n, EntityPlan& p, const FieldContext&) {
  p.trusted = n.boolean();
  if (p.profile != Profile::root)
    n.fail("expected no \"trusted\" on " + a_profile(p.profile) +
           " certificate: only a root can be a trust anchor");
}

void set_revocation(const Node& n, EntityPlan& p, const FieldContext& ctx) {
  n.only_keys({"date", "reason"});
  Revocation r{ctx.now - std::chrono::days(1), "keyCompromise"};
  if (n.has("date"))
    r.date = parse_time_node(n.child("date"), ctx.now);
  if (n.has("reason")) {
    r.reason = n.child("reason").string();
    if (!parse_crl_reason(r.reason))
      n.child("reason").fail("expected one of " + crl_reason_names() + ", got \"" + r.reason +
                             "\"" + did_you_mean(r.reason, split_names(crl_reason_names())));
  }
  if (!p.issuer)
    n.fail("expected no \"revocation\" on a self-signed certificate (there is no issuer CRL "
           "to list it on)");
  p.revocation = r;
}

void set_crl(const Node& n, EntityPlan& p, const FieldContext& ctx) {
  if (!is_ca(p.profile))
    n.fail("expected no \"crl\" on " + a_profile(p.profile) +
           " certificate: only CAs (root, intermediate) issue CRLs");
  n.only_keys({"this_update", "next_update", "number"});
  if (n.has("this_update"))
    p.crl->this_update = parse_time_node(n.child("this_update"), ctx.now);
  if (n.has("next_update"))
    p.crl->next_update = parse_time_node(n.child("next_update"), ctx.now);
  if (n.has("number"))
    p.crl->number = static_cast<std::uint64_t>(n.child("number").integer(0, 1LL << 62));
  if (p.crl->next_update < p.crl->this_update)
    n.child(n.has("next_update") ? "next_update" : "this_update")
        .fail("expected next_update at or after this_update, got next_update " +
              format_time(p.crl->next_update) + " before this_update " +
              format_time(p.crl->this_update) +
              (n.has("this_update") && n.has("next_update")
                   ? ""
                   : " (the other one is the default: set both)"));
}

} // namespace

const std::vector<EntityField>& entity_fields() {
  // The spec's vocabulary: anything else is a typo and an error. The order is the one overrides
  // apply in (and the one "expected one of …" lists).
  static const std::vector<EntityField> fields = {
      {"description", nullptr},
      {"profile", nullptr},
      {"from", nullptr},
      {"issuer", nullptr},
      {"subject", &set_subject},
      {"san", &set_san},
      {"key", nullptr},
      {"digest", &set_digest},
      {"serial", &set_serial},
      {"validity", &set_validity},
      {"version", &set_version},
      {"basic_constraints", &set_basic_constraints},
      {"key_usage", &set_key_usage},
      {"extended_key_usage", &set_extended_key_usage},
      {"name_constraints", &set_name_constraints},
      {"subject_key_identifier", &set_subject_key_identifier},
      {"authority_key_identifier", &set_authority_key_identifier},
      {"crl_distribution_points", &set_crl_distribution_points},
      {"ocsp_urls", &set_ocsp_urls},
      {"ca_issuer_urls", &set_ca_issuer_urls},
      {"extensions", &set_extensions},
      {"defects", nullptr},
      {"trusted", &set_trusted},
      {"revocation", &set_revocation},
      {"crl", &set_crl},
  };
  return fields;
}

const std::vector<std::string_view>& entity_field_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const auto& f : entity_fields())
      out.push_back(f.name);
    return out;
  }();
  return names;
}

} // namespace pki::spec_fields

// The defect catalog and the expected-verification model derived from it.
#include "pki/defects.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include "common/error.hpp"

namespace pki {
namespace {

using tlsmatrix::Errc;
using tlsmatrix::Error;
constexpr auto R = Profile::root;
constexpr auto I = Profile::intermediate;
constexpr auto S = Profile::server;
constexpr auto C = Profile::client;

// A private-enterprise OID that no verifier can know; its value is DER NULL.
constexpr std::string_view unknown_extension_oid = "1.3.6.1.4.1.99999.42.1";

const std::vector<DefectInfo> catalog = {
    {"expired",
     "notAfter is 30 days in the past (notBefore 60 days)",
     {S, C},
     DefectScope::chain,
     "expired",
     10,
     "X509_V_ERR_CERT_HAS_EXPIRED",
     {},
     ""},
    {"not_yet_valid",
     "notBefore is 30 days in the future",
     {S, C},
     DefectScope::chain,
     "not_yet_valid",
     9,
     "X509_V_ERR_CERT_NOT_YET_VALID",
     {},
     "NSS reports not-yet-valid as expired"},
    {"expired_intermediate",
     "the intermediate CA's notAfter is 30 days in the past",
     {I},
     DefectScope::chain,
     "expired",
     10,
     "X509_V_ERR_CERT_HAS_EXPIRED",
     {},
     ""},
    {"expired_root",
     "the root CA's notAfter is 30 days in the past",
     {R},
     DefectScope::chain,
     "expired",
     10,
     "X509_V_ERR_CERT_HAS_EXPIRED",
     {},
     "some verifiers do not check a trust anchor's validity (RFC 5280 §6.1 leaves it open)"},
    {"untrusted_root",
     "issued under a root that is not a trust anchor (set \"issuer\" to it)",
     {S, C},
     DefectScope::self,
     "unknown_ca",
     20,
     "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
     {},
     ""},
    {"self_signed",
     "signed by its own key, issuer = subject, no CA",
     {S, C},
     DefectScope::self,
     "self_signed",
     18,
     "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT",
     {},
     ""},
    {"hostname_mismatch",
     "SAN and CN name wrong.host.invalid instead of the server name",
     {S},
     DefectScope::self,
     "hostname_mismatch",
     62,
     "X509_V_ERR_HOSTNAME_MISMATCH",
     {true, false, {}},
     ""},
    {"cn_only_no_san",
     "the server name only in the subject CN, no subjectAltName",
     {S},
     DefectScope::self,
     "hostname_mismatch",
     0,
     "X509_V_OK",
     {true, false, {}},
     "OpenSSL falls back to the CN when there is no DNS SAN; RFC 6125 §6.4.4 verifiers "
     "(Go, browsers) reject it"},
    {"wrong_eku",
     "extendedKeyUsage names the other side: clientAuth on a server, serverAuth on a client",
     {S, C},
     DefectScope::self,
     "bad_purpose",
     26,
     "X509_V_ERR_INVALID_PURPOSE",
     {},
     ""},
    {"leaf_is_ca",
     "basicConstraints CA:TRUE on an end-entity certificate",
     {S, C},
     DefectScope::self,
     "leaf_is_ca",
     0,
     "X509_V_OK",
     {},
     "RFC 5280 does not forbid it and OpenSSL accepts it; CA/Browser Forum rules forbid it"},
    {"issuer_not_ca",
     "the issuing intermediate has basicConstraints CA:FALSE",
     {I},
     DefectScope::descendants,
     "invalid_ca",
     79,
     "X509_V_ERR_INVALID_CA",
     {},
     ""},
    {"issuer_no_basic_constraints",
     "the issuing intermediate has no basicConstraints extension",
     {I},
     DefectScope::descendants,
     "invalid_ca",
     79,
     "X509_V_ERR_INVALID_CA",
     {},
     "RFC 5280 §6.1.4(k) requires basicConstraints cA=TRUE on every CA certificate"},
    {"issuer_no_keycertsign",
     "the issuing intermediate's keyUsage lacks keyCertSign",
     {I},
     DefectScope::descendants,
     "invalid_ca",
     79,
     "X509_V_ERR_INVALID_CA",
     {},
     ""},
    {"pathlen_exceeded",
     "the intermediate has pathLenConstraint 0; certificates under a sub-CA below it exceed it",
     {I},
     DefectScope::grandchildren,
     "path_length",
     25,
     "X509_V_ERR_PATH_LENGTH_EXCEEDED",
     {},
     ""},
    {"bad_signature",
     "one bit of the signature is flipped",
     {I, S, C},
     DefectScope::chain,
     "bad_signature",
     7,
     "X509_V_ERR_CERT_SIGNATURE_FAILURE",
     {},
     ""},
    {"weak_key_rsa1024",
     "an RSA 1024-bit key (80-bit security)",
     {S, C},
     DefectScope::chain,
     "weak_key",
     66,
     "X509_V_ERR_EE_KEY_TOO_SMALL",
     {false, false, 2},
     "shows at security level 2 and above (OpenSSL's default level 1 accepts 1024 bits)"},
    {"sha1_signature",
     "signed with SHA-1",
     {I, S, C},
     DefectScope::chain,
     "weak_digest",
     68,
     "X509_V_ERR_CA_MD_TOO_WEAK",
     {false, false, 2},
     "OpenSSL 3.0 already rejects it at security level 1 (libssl's default); checked at 2, where "
     "every current stack rejects it"},
    {"md5_signature",
     "signed with MD5 (needs an RSA issuer)",
     {S, C},
     DefectScope::chain,
     "weak_digest",
     68,
     "X509_V_ERR_CA_MD_TOO_WEAK",
     {false, false, 1},
     "shows at security level 1 and above (libssl's default is 1; the openssl verify CLI checks "
     "no level unless given -auth_level)"},
    {"unknown_critical_extension",
     "carries a critical private extension (1.3.6.1.4.1.99999.42.1)",
     {I, S, C},
     DefectScope::chain,
     "unhandled_critical_extension",
     34,
     "X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION",
     {},
     ""},
    {"revoked",
     "listed on its issuer's CRL (keyCompromise, one day ago)",
     {S, C},
     DefectScope::chain,
     "revoked",
     23,
     "X509_V_ERR_CERT_REVOKED",
     {false, true, {}},
     "shows only when the verifier checks CRLs"},
    {"name_constraints_violation",
     "the intermediate permits only DNS names under permitted.invalid; its leaves name others",
     {I},
     DefectScope::descendants,
     "name_constraints",
     47,
     "X509_V_ERR_PERMITTED_VIOLATION",
     {},
     ""},
    {"v1_issuer",
     "the issuing intermediate is an X.509 v1 certificate (no extensions)",
     {I},
     DefectScope::descendants,
     "invalid_ca",
     79,
     "X509_V_ERR_INVALID_CA",
     {},
     "RFC 5280 §6.1.4(k): a v1 certificate can only be a trust anchor"},
    {"key_mismatch",
     "the key file holds a different key than the certificate certifies",
     {S, C},
     DefectScope::key_file,
     "key_mismatch",
     0,
     "X509_V_OK",
     {},
     "the certificate verifies; an endpoint configured with it fails to load or to handshake"},
    {"expired_crl",
     "the CA's CRL nextUpdate is one day in the past",
     {R, I},
     DefectScope::descendants,
     "crl_expired",
     12,
     "X509_V_ERR_CRL_HAS_EXPIRED",
     {false, true, {}},
     "shows only when the verifier checks CRLs"},
};

void set_expired(EntityPlan& p, const Spec& spec) {
  p.cert.not_before = spec.now - std::chrono::days(60);
  p.cert.not_after = spec.now - std::chrono::days(30);
}

void replace_cn(std::string& subject, std::string_view cn) {
  const auto pos = subject.rfind("/CN=");
  if (pos == std::string::npos) {
    subject += "/CN=" + std::string(cn);
    return;
  }
  const auto end = subject.find('/', pos + 1);
  subject.replace(pos + 4, end == std::string::npos ? std::string::npos : end - pos - 4, cn);
}

// RFC 5280 §4.2.1.10 dNSName subtree match, as OpenSSL's nc_dns does it: the name itself or any
// name below it, case-insensitively.
bool dns_within(std::string_view name, std::string_view base) {
  const auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& ch : out)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
  };
  const std::string n = lower(name), b = lower(base);
  if (n == b)
    return true;
  return n.size() > b.size() && n.ends_with(b) && n[n.size() - b.size() - 1] == '.';
}

// OpenSSL (cn2dnsid) treats a CN as a DNS name only when it has two or more labels.
bool cn_is_dns_name(std::string_view cn) {
  if (cn.empty() || cn.find('.') == std::string_view::npos)
    return false;
  if (cn.front() == '.' || cn.back() == '.' || cn.front() == '-' || cn.back() == '-')
    return false;
  for (char ch : cn)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '.' && ch != '_')
      return false;
  return cn.find("..") == std::string_view::npos;
}

std::string common_name(const std::string& subject) {
  const auto pos = subject.rfind("/CN=");
  if (pos == std::string::npos)
    return {};
  const auto end = subject.find('/', pos + 4);
  return subject.substr(pos + 4, end == std::string::npos ? std::string::npos : end - pos - 4);
}

// Whether `e` breaks the DNS subtrees `permitted` ("DNS:base" entries). Only DNS names are
// checked: the name_constraints_violation defect permits nothing but one DNS subtree, which leaves
// IP addresses and e-mail addresses unconstrained. OpenSSL checks the CN of the end entity too,
// and only when it has no DNS subjectAltName (check_name_constraints, NAME_CONSTRAINTS_check_CN).
bool violates_dns_subtrees(const EntityPlan& e, bool end_entity,
                           const std::vector<std::string>& permitted) {
  std::vector<std::string_view> bases;
  for (const auto& p : permitted)
    if (std::string_view(p).starts_with("DNS:"))
      bases.push_back(std::string_view(p).substr(4));
  if (bases.empty())
    return false;
  const auto outside = [&](std::string_view name) {
    return std::none_of(bases.begin(), bases.end(),
                        [&](std::string_view b) { return dns_within(name, b); });
  };
  bool has_dns = false;
  for (const auto& san : e.cert.subject_alt_names) {
    if (!std::string_view(san).starts_with("DNS:"))
      continue;
    has_dns = true;
    if (outside(std::string_view(san).substr(4)))
      return true;
  }
  if (!end_entity || has_dns)
    return false;
  const std::string cn = common_name(e.cert.subject);
  return cn_is_dns_name(cn) && outside(cn);
}

// The chain depth at which OpenSSL 3.0 reports `defect`, which sits on chain[d]; nullopt when the
// defect does not show for chain[0]. Verified against `openssl verify` in
// pki/tests/verify_test.cpp.
std::optional<int> reported_depth(const DefectInfo& defect,
                                  const std::vector<const EntityPlan*>& chain, std::size_t d) {
  const int depth = static_cast<int>(d);
  const std::string_view n = defect.name;
  switch (defect.scope) {
  case DefectScope::self:
    if (d != 0)
      return std::nullopt;
    return n == "untrusted_root" ? static_cast<int>(chain.size()) - 2 : 0;
  case DefectScope::chain:
    return depth;
  case DefectScope::key_file:
    return d == 0 ? std::optional(0) : std::nullopt;
  case DefectScope::grandchildren:
    // check_chain_extensions reports pathLenConstraint at the constraining CA.
    return d >= 2 ? std::optional(depth) : std::nullopt;
  case DefectScope::descendants:
    if (d == 0)
      return std::nullopt;
    if (n == "expired_crl") {
      // -crl_check fetches the CRL of the end entity's issuer only (X509_V_FLAG_CRL_CHECK without
      // _ALL); the error is reported at the certificate whose status was looked up.
      return d == 1 ? std::optional(0) : std::nullopt;
    }
    if (n == "name_constraints_violation") {
      // check_name_constraints walks from the top of the chain down and reports the first
      // certificate whose names fall outside the subtrees.
      const auto& permitted = chain[d]->cert.name_constraints
                                  ? chain[d]->cert.name_constraints->permitted
                                  : std::vector<std::string>{};
      for (std::size_t i = d; i-- > 0;)
        if (violates_dns_subtrees(*chain[i], i == 0, permitted))
          return static_cast<int>(i);
      return std::nullopt;
    }
    // The CA certificate itself is invalid as an issuer (check_chain_extensions: X509_check_ca
    // fails, or keyUsage lacks keyCertSign): reported at the CA, not at what it issued.
    return depth;
  }
  return std::nullopt;
}

} // namespace

const std::vector<DefectInfo>& defect_catalog() {
  return catalog;
}

const DefectInfo* find_defect(std::string_view name) {
  for (const auto& d : catalog)
    if (d.name == name)
      return &d;
  return nullptr;
}

void apply_defect(const DefectInfo& defect, EntityPlan& p, const Spec& spec) {
  auto& c = p.cert;
  const std::string_view n = defect.name;
  if (n == "expired" || n == "expired_intermediate" || n == "expired_root") {
    set_expired(p, spec);
  } else if (n == "not_yet_valid") {
    c.not_before = spec.now + std::chrono::days(30);
    c.not_after = spec.now + std::chrono::days(365);
  } else if (n == "untrusted_root") {
    const auto chain = spec.chain_of(p.name);
    if (chain.size() < 2 || chain.back()->profile != Profile::root || chain.back()->trusted)
      throw Error(Errc::invalid_input,
                  "untrusted_root needs an issuer chain ending at a root with \"trusted\": false");
  } else if (n == "self_signed") {
    p.issuer.reset();
    p.revocation.reset();
  } else if (n == "hostname_mismatch") {
    c.subject_alt_names = {"DNS:wrong.host.invalid"};
    replace_cn(c.subject, "wrong.host.invalid");
  } else if (n == "cn_only_no_san") {
    c.subject_alt_names.clear();
    replace_cn(c.subject, spec.server_name);
  } else if (n == "wrong_eku") {
    c.extended_key_usage =
        ExtendedKeyUsage{{p.profile == Profile::server ? "clientAuth" : "serverAuth"}, false};
  } else if (n == "leaf_is_ca") {
    c.basic_constraints = BasicConstraints{true, std::nullopt, true};
  } else if (n == "issuer_not_ca") {
    c.basic_constraints = BasicConstraints{false, std::nullopt, true};
  } else if (n == "issuer_no_basic_constraints") {
    c.basic_constraints.reset();
  } else if (n == "issuer_no_keycertsign") {
    c.key_usage = KeyUsage{{"digitalSignature", "cRLSign"}, true};
  } else if (n == "pathlen_exceeded") {
    c.basic_constraints = BasicConstraints{true, 0, true};
  } else if (n == "bad_signature") {
    c.corrupt_signature = true;
  } else if (n == "weak_key_rsa1024") {
    p.key_type = KeyType::rsa1024;
    p.key_from.reset();
    if (c.key_usage && p.profile == Profile::server &&
        std::find(c.key_usage->usages.begin(), c.key_usage->usages.end(), "keyEncipherment") ==
            c.key_usage->usages.end())
      c.key_usage->usages.push_back("keyEncipherment");
  } else if (n == "sha1_signature") {
    c.digest = "sha1";
  } else if (n == "md5_signature") {
    c.digest = "md5";
  } else if (n == "unknown_critical_extension") {
    c.extra_extensions.push_back(
        RawExtension{std::string(unknown_extension_oid), true, {0x05, 0x00}});
  } else if (n == "revoked") {
    if (!p.issuer)
      throw Error(Errc::invalid_input, "a self-signed certificate cannot be revoked");
    if (!p.revocation)
      p.revocation = Revocation{spec.now - std::chrono::days(1), "keyCompromise"};
  } else if (n == "name_constraints_violation") {
    c.name_constraints = NameConstraints{{"DNS:permitted.invalid"}, {}, true};
  } else if (n == "v1_issuer") {
    c.version = 1;
    c.basic_constraints.reset();
    c.key_usage.reset();
    c.extended_key_usage.reset();
    c.subject_alt_names.clear();
    c.name_constraints.reset();
    c.extra_extensions.clear();
    c.subject_key_identifier = c.authority_key_identifier = false;
  } else if (n == "key_mismatch") {
    p.mismatched_key = true;
  } else if (n == "expired_crl") {
    p.crl->this_update = spec.now - std::chrono::days(31);
    p.crl->next_update = spec.now - std::chrono::days(1);
  } else {
    throw Error(Errc::internal, "defect without an implementation: " + std::string(n));
  }
}

ExpectedVerification expected_verification(const Spec& spec, const EntityPlan& entity) {
  ExpectedVerification out;
  if (entity.profile == Profile::server)
    out.purpose = "sslserver";
  if (entity.profile == Profile::client)
    out.purpose = "sslclient";
  const auto chain = spec.chain_of(entity.name);

  struct Hit {
    const DefectInfo* defect;
    const EntityPlan* where;
    int depth;
  };
  std::vector<Hit> hits;
  for (std::size_t d = 0; d < chain.size(); ++d) {
    for (const auto& name : chain[d]->defects) {
      const DefectInfo* defect = find_defect(name);
      if (const auto depth = reported_depth(*defect, chain, d))
        hits.push_back({defect, chain[d], *depth});
    }
  }

  if (hits.empty()) {
    const EntityPlan& top = *chain.back();
    if (top.profile == Profile::root && !top.trusted) {
      out.ok = false;
      out.reason = "unknown_ca";
      out.caused_by_entity = top.name;
      if (chain.size() == 1) {
        out.openssl_error = 18;
        out.openssl_error_name = "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT";
      } else {
        out.openssl_error = 20;
        out.openssl_error_name = "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY";
        out.depth = static_cast<int>(chain.size()) - 2;
      }
    }
    return out;
  }

  const Hit& hit = hits.front();
  out.reason = std::string(hit.defect->reason);
  out.openssl_error = hit.defect->openssl_error;
  out.openssl_error_name = std::string(hit.defect->openssl_error_name);
  out.ok = hit.defect->scope == DefectScope::key_file;
  out.verify = hit.defect->verify;
  out.caused_by_entity = hit.where->name;
  out.caused_by_defect = std::string(hit.defect->name);
  out.note = std::string(hit.defect->note);
  out.depth = hit.depth;
  if (hits.size() > 1) {
    out.note = "several defects in this chain (";
    for (std::size_t i = 0; i < hits.size(); ++i)
      out.note +=
          (i ? ", " : "") + std::string(hits[i].defect->name) + " on " + hits[i].where->name;
    out.note += "); the first one is expected to be reported";
  }
  return out;
}

} // namespace pki

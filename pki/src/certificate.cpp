// Certificate and CRL issuance over the OpenSSL X509 API, with every extension under our control.
#include "pki/certificate.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/error.hpp"
#include "pki/ossl.hpp"

namespace pki {
namespace {

using tlsmatrix::Errc;
using tlsmatrix::Error;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(Errc::invalid_input, message);
}

std::vector<std::pair<std::string, std::string>> split_subject(std::string_view subject,
                                                               std::string* error) {
  std::vector<std::pair<std::string, std::string>> rdns;
  if (subject.empty() || subject.front() != '/') {
    *error = "expected the form /O=Org/CN=name";
    return {};
  }
  std::string current;
  std::vector<std::string> parts;
  for (std::size_t i = 1; i < subject.size(); ++i) {
    if (subject[i] == '\\' && i + 1 < subject.size()) {
      current += subject[++i];
    } else if (subject[i] == '/') {
      parts.push_back(current);
      current.clear();
    } else {
      current += subject[i];
    }
  }
  parts.push_back(current);
  for (const auto& part : parts) {
    const auto eq = part.find('=');
    if (eq == std::string::npos || eq == 0) {
      *error = "\"" + part + "\" is not of the form ATTRIBUTE=value";
      return {};
    }
    std::string attr = part.substr(0, eq);
    if (OBJ_txt2nid(attr.c_str()) == NID_undef) {
      *error = "unknown attribute \"" + attr + "\"";
      return {};
    }
    rdns.emplace_back(std::move(attr), part.substr(eq + 1));
  }
  return rdns;
}

ossl::X509NamePtr make_name(std::string_view subject) {
  std::string error;
  const auto rdns = split_subject(subject, &error);
  if (!error.empty())
    invalid("subject \"" + std::string(subject) + "\": " + error);
  ossl::X509NamePtr name(X509_NAME_new());
  for (const auto& [attr, value] : rdns) {
    ossl::check(X509_NAME_add_entry_by_txt(name.get(), attr.c_str(), MBSTRING_UTF8,
                                           reinterpret_cast<const unsigned char*>(value.c_str()),
                                           -1, -1, 0),
                "subject attribute " + attr);
  }
  return name;
}

std::string name_to_string(const X509_NAME* name) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  // XN_FLAG_COMPAT gives the "/O=x/CN=y" oneline form OpenSSL's -subj uses.
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_COMPAT);
  return ossl::bio_to_string(*bio);
}

const EVP_MD* digest_by_name(std::string_view name, const PrivateKey& key) {
  if (key.type() == KeyType::ed25519 || key.type() == KeyType::ed448)
    return nullptr; // intrinsic
  if (name == "sha256")
    return EVP_sha256();
  if (name == "sha384")
    return EVP_sha384();
  if (name == "sha512")
    return EVP_sha512();
  if (name == "sha1")
    return EVP_sha1();
  if (name == "md5") {
    if (!is_rsa(key.type()))
      invalid("an MD5 signature needs an RSA signing key");
    return EVP_md5();
  }
  invalid("unknown digest \"" + std::string(name) + "\"");
}

// CIDR "10.0.0.0/8" → OpenSSL's "10.0.0.0/255.0.0.0" constraint form.
std::optional<std::string> cidr_to_mask(std::string_view cidr) {
  const auto slash = cidr.find('/');
  if (slash == std::string_view::npos)
    return std::nullopt;
  const std::string addr(cidr.substr(0, slash));
  int bits = -1;
  try {
    std::size_t used = 0;
    bits = std::stoi(std::string(cidr.substr(slash + 1)), &used);
    if (used != cidr.size() - slash - 1)
      return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  unsigned char buf[16];
  const bool v6 = addr.find(':') != std::string::npos;
  const int total = v6 ? 128 : 32;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, addr.c_str(), buf) != 1 || bits < 0 || bits > total)
    return std::nullopt;
  unsigned char mask[16] = {};
  for (int i = 0; i < bits; ++i)
    mask[i / 8] |= static_cast<unsigned char>(0x80 >> (i % 8));
  char text[INET6_ADDRSTRLEN];
  inet_ntop(v6 ? AF_INET6 : AF_INET, mask, text, sizeof text);
  return addr + "/" + text;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty())
      out += sep;
    out += item;
  }
  return out;
}

void add_conf_extension(X509& cert, X509V3_CTX& ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    std::string detail;
    for (unsigned long e; (e = ERR_get_error()) != 0;) {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      detail += std::string(detail.empty() ? ": " : "; ") + buf;
    }
    invalid(std::string("cannot encode ") + OBJ_nid2sn(nid) + " \"" + value + "\"" + detail);
  }
  ossl::X509ExtensionPtr owned(ext);
  ossl::check(X509_add_ext(&cert, ext, -1), "adding an extension");
}

void add_raw_extension(X509& cert, const RawExtension& raw) {
  ossl::Asn1ObjectPtr obj(OBJ_txt2obj(raw.oid.c_str(), 1));
  if (!obj) {
    ossl::clear_errors();
    invalid("\"" + raw.oid + "\" is not a dotted OID");
  }
  ossl::Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
  ossl::check(ASN1_OCTET_STRING_set(value.get(), raw.der.data(), static_cast<int>(raw.der.size())),
              "extension value");
  ossl::X509ExtensionPtr ext(ossl::check_ptr(
      X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), raw.critical ? 1 : 0, value.get()),
      "creating extension " + raw.oid));
  ossl::check(X509_add_ext(&cert, ext.get(), -1), "adding extension " + raw.oid);
}

void set_time(ASN1_TIME* field, TimePoint t, std::string_view what) {
  // ASN1_TIME_set picks UTCTime before 2050 and GeneralizedTime after, as RFC 5280 §4.1.2.5 says.
  if (ASN1_TIME_set(field, static_cast<time_t>(t.time_since_epoch().count())) == nullptr)
    ossl::throw_last_error(what);
}

ossl::Asn1IntegerPtr make_serial(const Bytes& serial) {
  if (serial.empty() || serial.size() > 20)
    invalid("a serial number has 1 to 20 bytes");
  ossl::BnPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  return ossl::Asn1IntegerPtr(
      ossl::check_ptr(BN_to_ASN1_INTEGER(bn.get(), nullptr), "encoding a serial number"));
}

std::shared_ptr<X509> share(X509* x) {
  return {x, &X509_free};
}

void add_extensions(X509& cert, const CertificateSettings& s, const Certificate* issuer,
                    const PrivateKey& signing_key) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? &issuer->get() : &cert, &cert, nullptr, nullptr, 0);
  // Lets a self-signed certificate's AKI be computed from the key before the certificate exists.
  ossl::check(X509V3_set_issuer_pkey(&ctx, &signing_key.get()), "setting the issuer key");
  if (s.basic_constraints) {
    const auto& bc = *s.basic_constraints;
    std::string v = bc.critical ? "critical," : "";
    v += bc.ca ? "CA:TRUE" : "CA:FALSE";
    if (bc.path_len)
      v += ",pathlen:" + std::to_string(*bc.path_len);
    add_conf_extension(cert, ctx, NID_basic_constraints, v);
  }
  if (s.key_usage) {
    add_conf_extension(cert, ctx, NID_key_usage,
                       (s.key_usage->critical ? "critical," : "") + join(s.key_usage->usages, ","));
  }
  if (s.extended_key_usage) {
    add_conf_extension(cert, ctx, NID_ext_key_usage,
                       (s.extended_key_usage->critical ? "critical," : "") +
                           join(s.extended_key_usage->purposes, ","));
  }
  if (s.subject_key_identifier)
    add_conf_extension(cert, ctx, NID_subject_key_identifier, "hash");
  // A self-signed root gets an AKI too (keyid:always), as most public roots do.
  // An issuer without a subjectKeyIdentifier (an X.509 v1 CA) leaves nothing to point at.
  const bool issuer_has_ski =
      !issuer || X509_get_ext_by_NID(&issuer->get(), NID_subject_key_identifier, -1) >= 0;
  if (s.authority_key_identifier && issuer_has_ski)
    add_conf_extension(cert, ctx, NID_authority_key_identifier, "keyid:always");
  if (!s.subject_alt_names.empty())
    add_conf_extension(cert, ctx, NID_subject_alt_name, join(s.subject_alt_names, ","));
  if (s.name_constraints) {
    std::vector<std::string> parts;
    auto add = [&](std::string_view kind, const std::vector<std::string>& names) {
      for (const auto& n : names) {
        std::string value = n;
        if (n.starts_with("IP:")) {
          const auto mask = cidr_to_mask(std::string_view(n).substr(3));
          if (!mask)
            invalid("name constraint \"" + n + "\": expected IP:address/prefix");
          value = "IP:" + *mask;
        }
        parts.push_back(std::string(kind) + ";" + value);
      }
    };
    add("permitted", s.name_constraints->permitted);
    add("excluded", s.name_constraints->excluded);
    add_conf_extension(cert, ctx, NID_name_constraints,
                       (s.name_constraints->critical ? "critical," : "") + join(parts, ","));
  }
  if (!s.crl_distribution_points.empty()) {
    std::vector<std::string> uris;
    for (const auto& u : s.crl_distribution_points)
      uris.push_back("URI:" + u);
    add_conf_extension(cert, ctx, NID_crl_distribution_points, join(uris, ","));
  }
  if (!s.ocsp_urls.empty() || !s.ca_issuer_urls.empty()) {
    std::vector<std::string> items;
    for (const auto& u : s.ocsp_urls)
      items.push_back("OCSP;URI:" + u);
    for (const auto& u : s.ca_issuer_urls)
      items.push_back("caIssuers;URI:" + u);
    add_conf_extension(cert, ctx, NID_info_access, join(items, ","));
  }
  for (const auto& raw : s.extra_extensions)
    add_raw_extension(cert, raw);
}

std::string hex_colon(const unsigned char* data, std::size_t len) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < len; ++i) {
    if (i)
      out += ':';
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

TimePoint from_asn1(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1)
    ossl::throw_last_error("reading a certificate time");
  return TimePoint(std::chrono::seconds(timegm(&tm)));
}

} // namespace

std::optional<std::string> subject_error(std::string_view subject) {
  std::string error;
  split_subject(subject, &error);
  if (error.empty())
    return std::nullopt;
  return error;
}

std::optional<std::string> general_name_error(std::string_view name, bool constraint) {
  const auto colon = name.find(':');
  if (colon == std::string_view::npos)
    return "expected TYPE:value with TYPE one of DNS, IP, email, URI";
  const std::string_view type = name.substr(0, colon), value = name.substr(colon + 1);
  if (value.empty())
    return "empty value";
  if (value.find(',') != std::string_view::npos)
    return "a name cannot contain ','";
  if (type == "DNS" || type == "email" || type == "URI")
    return std::nullopt;
  if (type == "IP") {
    if (constraint) {
      if (!cidr_to_mask(value))
        return "expected IP:address/prefix, e.g. IP:10.0.0.0/8";
      return std::nullopt;
    }
    unsigned char buf[16];
    const std::string v(value);
    if (inet_pton(AF_INET, v.c_str(), buf) == 1 || inet_pton(AF_INET6, v.c_str(), buf) == 1)
      return std::nullopt;
    return "\"" + v + "\" is not an IPv4 or IPv6 address";
  }
  return "unknown name type \"" + std::string(type) + "\" (expected DNS, IP, email or URI)";
}

Certificate build_certificate(const CertificateSettings& s, const PrivateKey& subject_key,
                              const Certificate* issuer, const PrivateKey& signing_key) {
  if (s.version != 1 && s.version != 3)
    invalid("certificate version must be 1 or 3");
  ossl::X509Ptr cert(X509_new());
  ossl::check(X509_set_version(cert.get(), s.version - 1), "setting the version");
  const auto serial = make_serial(s.serial);
  ossl::check(X509_set_serialNumber(cert.get(), serial.get()), "setting the serial");
  const auto subject = make_name(s.subject);
  ossl::check(X509_set_subject_name(cert.get(), subject.get()), "setting the subject");
  ossl::check(X509_set_issuer_name(cert.get(),
                                   issuer ? X509_get_subject_name(&issuer->get()) : subject.get()),
              "setting the issuer");
  set_time(X509_getm_notBefore(cert.get()), s.not_before, "setting notBefore");
  set_time(X509_getm_notAfter(cert.get()), s.not_after, "setting notAfter");
  ossl::check(X509_set_pubkey(cert.get(), &subject_key.get()), "setting the public key");
  if (s.version == 3)
    add_extensions(*cert, s, issuer, signing_key);

  const EVP_MD* md = digest_by_name(s.digest, signing_key);
  if (X509_sign(cert.get(), &signing_key.get(), md) <= 0)
    ossl::throw_last_error("signing");

  if (s.corrupt_signature) {
    // The signature BIT STRING is the last field of the DER encoding, so its last byte is the
    // certificate's last byte: flipping one bit there breaks the signature and nothing else.
    Bytes der = Certificate(share(cert.release())).der();
    der.back() ^= 0x01;
    return Certificate::from_der(der, "corrupted certificate");
  }
  return Certificate(share(cert.release()));
}

Certificate Certificate::from_der(const Bytes& der, std::string_view origin) {
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (x == nullptr) {
    ossl::clear_errors();
    invalid(std::string(origin) + ": not a DER certificate");
  }
  return Certificate(share(x));
}

Certificate Certificate::from_pem(std::string_view pem, std::string_view origin) {
  auto all = all_from_pem(pem, origin);
  return all.front();
}

std::vector<Certificate> Certificate::all_from_pem(std::string_view pem, std::string_view origin) {
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<Certificate> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr))
    out.push_back(Certificate(share(x)));
  ossl::clear_errors(); // the loop ends on an expected "no start line"
  if (out.empty())
    invalid(std::string(origin) + ": no PEM certificate found");
  return out;
}

std::string Certificate::pem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  ossl::check(PEM_write_bio_X509(bio.get(), x509_.get()), "encoding a certificate");
  return ossl::bio_to_string(*bio);
}

Bytes Certificate::der() const {
  const int len = i2d_X509(x509_.get(), nullptr);
  if (len <= 0)
    ossl::throw_last_error("encoding a certificate");
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_X509(x509_.get(), &p);
  return der;
}

std::string Certificate::subject() const {
  return name_to_string(X509_get_subject_name(x509_.get()));
}
std::string Certificate::issuer() const {
  return name_to_string(X509_get_issuer_name(x509_.get()));
}

std::string Certificate::serial_hex() const {
  ossl::BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509_.get()), nullptr));
  char* hex = BN_bn2hex(bn.get());
  std::string out(hex);
  OPENSSL_free(hex);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Bytes Certificate::serial() const {
  ossl::BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509_.get()), nullptr));
  Bytes out(static_cast<std::size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), out.data());
  return out;
}

std::string Certificate::sha256_fingerprint() const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ossl::check(X509_digest(x509_.get(), EVP_sha256(), md, &len), "fingerprint");
  return hex_colon(md, len);
}

TimePoint Certificate::not_before() const {
  return from_asn1(X509_get0_notBefore(x509_.get()));
}
TimePoint Certificate::not_after() const {
  return from_asn1(X509_get0_notAfter(x509_.get()));
}

std::string Certificate::signature_algorithm() const {
  return OBJ_nid2ln(X509_get_signature_nid(x509_.get()));
}

bool Certificate::is_self_issued() const {
  return X509_NAME_cmp(X509_get_subject_name(x509_.get()), X509_get_issuer_name(x509_.get())) == 0;
}

// ---- CRLs ----

namespace {
struct ReasonName {
  std::string_view name;
  int code;
};
constexpr std::array crl_reasons{
    ReasonName{"unspecified", 0},        ReasonName{"keyCompromise", 1},
    ReasonName{"cACompromise", 2},       ReasonName{"affiliationChanged", 3},
    ReasonName{"superseded", 4},         ReasonName{"cessationOfOperation", 5},
    ReasonName{"certificateHold", 6},    ReasonName{"removeFromCRL", 8},
    ReasonName{"privilegeWithdrawn", 9}, ReasonName{"aACompromise", 10},
};
} // namespace

std::optional<int> parse_crl_reason(std::string_view name) {
  for (const auto& r : crl_reasons)
    if (r.name == name)
      return r.code;
  return std::nullopt;
}

std::string crl_reason_names() {
  std::string out;
  for (const auto& r : crl_reasons) {
    if (!out.empty())
      out += ", ";
    out += r.name;
  }
  return out;
}

Crl build_crl(const CrlSettings& s, const Certificate& issuer, const PrivateKey& issuer_key) {
  ossl::X509CrlPtr crl(X509_CRL_new());
  ossl::check(X509_CRL_set_version(crl.get(), 1), "CRL version"); // v2: extensions present
  ossl::check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(&issuer.get())),
              "CRL issuer");
  ossl::Asn1TimePtr t(ASN1_TIME_new());
  set_time(t.get(), s.this_update, "CRL thisUpdate");
  ossl::check(X509_CRL_set1_lastUpdate(crl.get(), t.get()), "CRL thisUpdate");
  set_time(t.get(), s.next_update, "CRL nextUpdate");
  ossl::check(X509_CRL_set1_nextUpdate(crl.get(), t.get()), "CRL nextUpdate");

  for (const auto& entry : s.revoked) {
    ossl::X509RevokedPtr rev(X509_REVOKED_new());
    const auto serial = make_serial(entry.serial);
    ossl::check(X509_REVOKED_set_serialNumber(rev.get(), serial.get()), "revoked serial");
    set_time(t.get(), entry.revocation_date, "revocation date");
    ossl::check(X509_REVOKED_set_revocationDate(rev.get(), t.get()), "revocation date");
    const auto code = parse_crl_reason(entry.reason);
    if (!code)
      invalid("unknown CRL reason \"" + entry.reason + "\"");
    if (*code != 0) { // RFC 5280 §5.3.1: omit reasonCode rather than use unspecified
      ossl::Ptr<ASN1_ENUMERATED, &ASN1_ENUMERATED_free> reason(ASN1_ENUMERATED_new());
      ASN1_ENUMERATED_set(reason.get(), *code);
      ossl::check(X509_REVOKED_add1_ext_i2d(rev.get(), NID_crl_reason, reason.get(), 0, 0),
                  "revocation reason");
    }
    ossl::check(X509_CRL_add0_revoked(crl.get(), rev.get()), "adding a revoked entry");
    rev.release(); // owned by the CRL now
  }

  if (X509_get_ext_by_NID(&issuer.get(), NID_subject_key_identifier, -1) >= 0) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, &issuer.get(), nullptr, nullptr, crl.get(), 0);
    ossl::X509ExtensionPtr aki(ossl::check_ptr(
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"),
        "CRL authorityKeyIdentifier"));
    ossl::check(X509_CRL_add_ext(crl.get(), aki.get(), -1), "CRL authorityKeyIdentifier");
  }
  ossl::Asn1IntegerPtr number(ASN1_INTEGER_new());
  ASN1_INTEGER_set_uint64(number.get(), s.crl_number);
  ossl::check(X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0), "CRL number");

  ossl::check(X509_CRL_sort(crl.get()), "sorting the CRL");
  const EVP_MD* md = digest_by_name(s.digest, issuer_key);
  if (X509_CRL_sign(crl.get(), &issuer_key.get(), md) <= 0)
    ossl::throw_last_error("signing the CRL");
  return Crl(std::shared_ptr<X509_CRL>(crl.release(), &X509_CRL_free));
}

std::string Crl::pem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  ossl::check(PEM_write_bio_X509_CRL(bio.get(), crl_.get()), "encoding a CRL");
  return ossl::bio_to_string(*bio);
}

Bytes Crl::der() const {
  const int len = i2d_X509_CRL(crl_.get(), nullptr);
  if (len <= 0)
    ossl::throw_last_error("encoding a CRL");
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_X509_CRL(crl_.get(), &p);
  return der;
}

} // namespace pki

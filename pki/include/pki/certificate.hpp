// Certificates and CRLs as value types, and the settings that fully describe one to be issued.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "pki/key.hpp"
#include "pki/time.hpp"

namespace pki {

using Bytes = std::vector<std::uint8_t>;

struct BasicConstraints {
  bool ca = false;
  std::optional<int> path_len;
  bool critical = true;
};

struct KeyUsage {
  // digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement,
  // keyCertSign, cRLSign, encipherOnly, decipherOnly
  std::vector<std::string> usages;
  bool critical = true;
};

struct ExtendedKeyUsage {
  // serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, OCSPSigning or a dotted OID
  std::vector<std::string> purposes;
  bool critical = false;
};

struct NameConstraints {
  // "DNS:example.com", "IP:10.0.0.0/8", "IP:fd00::/8", "email:example.com", "URI:.example.com"
  std::vector<std::string> permitted;
  std::vector<std::string> excluded;
  bool critical = true;
};

struct RawExtension {
  std::string oid; // dotted
  bool critical = false;
  Bytes der; // the extension value (contents of the extnValue OCTET STRING)
};

// Everything that goes into one certificate. Validation of user input happens in the spec parser;
// build_certificate() still refuses what OpenSSL cannot encode, with Errc::invalid_input.
struct CertificateSettings {
  int version = 3;     // 1 or 3; version 1 carries no extensions
  std::string subject; // OpenSSL -subj form: "/O=tlsmatrix/CN=localhost"
  std::vector<std::string>
      subject_alt_names; // "DNS:x", "IP:127.0.0.1", "email:a@b", "URI:https://x"
  Bytes serial;          // big-endian, positive, 1..20 bytes
  TimePoint not_before{};
  TimePoint not_after{};
  std::string digest = "sha256"; // sha256|sha384|sha512|sha1|md5; ignored for Ed25519/Ed448
  std::optional<BasicConstraints> basic_constraints;
  std::optional<KeyUsage> key_usage;
  std::optional<ExtendedKeyUsage> extended_key_usage;
  std::optional<NameConstraints> name_constraints;
  bool subject_key_identifier = true;
  bool authority_key_identifier = true;
  std::vector<std::string> crl_distribution_points; // URLs
  std::vector<std::string> ocsp_urls;               // AIA
  std::vector<std::string> ca_issuer_urls;          // AIA
  std::vector<RawExtension> extra_extensions;
  bool corrupt_signature = false; // flips the last signature bit after signing (bad_signature)
};

class Certificate;
struct CertificateSettings;
Certificate build_certificate(const CertificateSettings&, const PrivateKey&, const Certificate*,
                              const PrivateKey&);

class Certificate {
public:
  [[nodiscard]] static Certificate from_der(const Bytes& der, std::string_view origin);
  // The first certificate of a PEM text.
  [[nodiscard]] static Certificate from_pem(std::string_view pem, std::string_view origin);
  // Every certificate of a PEM text, in order.
  [[nodiscard]] static std::vector<Certificate> all_from_pem(std::string_view pem,
                                                             std::string_view origin);

  [[nodiscard]] X509& get() const { return *x509_; }
  [[nodiscard]] std::string pem() const;
  [[nodiscard]] Bytes der() const;
  [[nodiscard]] std::string subject() const; // "/O=tlsmatrix/CN=localhost"
  [[nodiscard]] std::string issuer() const;
  [[nodiscard]] std::string serial_hex() const;         // lower-case, no separators
  [[nodiscard]] Bytes serial() const;                   // big-endian
  [[nodiscard]] std::string sha256_fingerprint() const; // "AB:CD:…", as `openssl x509 -fingerprint`
  [[nodiscard]] TimePoint not_before() const;
  [[nodiscard]] TimePoint not_after() const;
  [[nodiscard]] bool is_self_issued() const;
  [[nodiscard]] std::string signature_algorithm() const; // "ecdsa-with-SHA256", "ED25519", …

private:
  friend Certificate build_certificate(const CertificateSettings&, const PrivateKey&,
                                       const Certificate*, const PrivateKey&);
  explicit Certificate(std::shared_ptr<X509> x509) : x509_(std::move(x509)) {}
  std::shared_ptr<X509> x509_;
};

// Issues a certificate for `subject_key`; with no issuer it is self-signed by `signing_key`.
[[nodiscard]] Certificate build_certificate(const CertificateSettings& settings,
                                            const PrivateKey& subject_key,
                                            const Certificate* issuer,
                                            const PrivateKey& signing_key);

// CRL reasons (RFC 5280 §5.3.1) by their ASN.1 names: keyCompromise, cACompromise, superseded, …
[[nodiscard]] std::optional<int> parse_crl_reason(std::string_view name);
[[nodiscard]] std::string crl_reason_names();

struct RevokedEntry {
  Bytes serial;
  TimePoint revocation_date{};
  std::string reason = "keyCompromise"; // or "unspecified" (then no reasonCode extension)
};

struct CrlSettings {
  TimePoint this_update{};
  TimePoint next_update{};
  std::uint64_t crl_number = 1;
  std::string digest = "sha256";
  std::vector<RevokedEntry> revoked;
};

class Crl {
public:
  [[nodiscard]] X509_CRL& get() const { return *crl_; }
  [[nodiscard]] std::string pem() const;
  [[nodiscard]] Bytes der() const;

private:
  friend Crl build_crl(const CrlSettings&, const Certificate&, const PrivateKey&);
  explicit Crl(std::shared_ptr<X509_CRL> crl) : crl_(std::move(crl)) {}
  std::shared_ptr<X509_CRL> crl_;
};

[[nodiscard]] Crl build_crl(const CrlSettings& settings, const Certificate& issuer,
                            const PrivateKey& issuer_key);

// What is wrong with a "/O=x/CN=y" subject, or nullopt when it is well-formed.
[[nodiscard]] std::optional<std::string> subject_error(std::string_view subject);
// What is wrong with a "DNS:…"/"IP:…"/"email:…"/"URI:…" name, or nullopt. With `constraint`,
// IP takes a CIDR range ("10.0.0.0/8") instead of an address.
[[nodiscard]] std::optional<std::string> general_name_error(std::string_view name, bool constraint);

} // namespace pki

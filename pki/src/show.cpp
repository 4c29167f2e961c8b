// Certificate summaries for `tlsmatrix pki show`: fields in a fixed order, then what stands out.
#include "pki/show.hpp"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "pki/ossl.hpp"

namespace pki {
namespace {

std::string extension_text(X509_EXTENSION* ext) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (X509V3_EXT_print(bio.get(), ext, 0, 0) != 1) {
    ossl::clear_errors();
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    return "(unknown extension, " + std::to_string(ASN1_STRING_length(data)) + " bytes)";
  }
  std::string text = ossl::bio_to_string(*bio);
  for (auto& c : text)
    if (c == '\n')
      c = ' ';
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return text;
}

std::string oid_text(const ASN1_OBJECT* obj) {
  char buf[128];
  OBJ_obj2txt(buf, sizeof buf, obj, 0);
  return buf;
}

std::string days_phrase(std::chrono::seconds delta) {
  const auto days = std::chrono::duration_cast<std::chrono::days>(delta).count();
  if (days >= 1)
    return std::to_string(days) + (days == 1 ? " day" : " days");
  const auto hours = std::chrono::duration_cast<std::chrono::hours>(delta).count();
  return std::to_string(hours) + (hours == 1 ? " hour" : " hours");
}

} // namespace

CertificateSummary summarize(const Certificate& cert, TimePoint now) {
  CertificateSummary s;
  X509& x = cert.get();
  s.fields.emplace_back("subject", cert.subject());
  s.fields.emplace_back("issuer", cert.issuer());
  s.fields.emplace_back("version", std::to_string(X509_get_version(&x) + 1));
  s.fields.emplace_back("serial", cert.serial_hex());
  s.fields.emplace_back("not before", format_time(cert.not_before()));
  s.fields.emplace_back("not after", format_time(cert.not_after()));

  EVP_PKEY* pkey = X509_get0_pubkey(&x); // borrowed
  std::string key = "unknown";
  if (pkey != nullptr) {
    key = OBJ_nid2ln(EVP_PKEY_get_base_id(pkey));
    key += " " + std::to_string(EVP_PKEY_get_bits(pkey)) + " bits";
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) < 2048)
      s.notable.push_back("weak key: RSA " + std::to_string(EVP_PKEY_get_bits(pkey)) + " bits");
  }
  s.fields.emplace_back("public key", key);
  const int sig_nid = X509_get_signature_nid(&x);
  s.fields.emplace_back("signature", OBJ_nid2ln(sig_nid));
  int md_nid = NID_undef, pk_nid = NID_undef;
  if (OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid)) {
    if (md_nid == NID_sha1)
      s.notable.push_back("signed with SHA-1 (rejected at security level 2+)");
    if (md_nid == NID_md5)
      s.notable.push_back("signed with MD5");
  }
  s.fields.emplace_back("sha256 fingerprint", cert.sha256_fingerprint());

  if (now > cert.not_after())
    s.notable.push_back("expired " + days_phrase(now - cert.not_after()) + " ago");
  if (now < cert.not_before())
    s.notable.push_back("not valid for another " + days_phrase(cert.not_before() - now));
  if (X509_get_version(&x) == 0)
    s.notable.push_back("X.509 version 1: no extensions");

  const bool self_issued = cert.is_self_issued();
  const bool ca = X509_check_ca(&x) != 0;
  if (self_issued) {
    const bool verifies = X509_verify(&x, pkey) == 1;
    ossl::clear_errors();
    s.notable.push_back(verifies
                            ? (ca ? "self-signed CA (a root)" : "self-signed, not a CA")
                            : "self-issued but its signature does not verify with its own key");
  }

  bool has_bc = false, has_san = false, has_ku = false;
  for (int i = 0; i < X509_get_ext_count(&x); ++i) {
    X509_EXTENSION* ext = X509_get_ext(&x, i); // borrowed
    const ASN1_OBJECT* obj = X509_EXTENSION_get_object(ext);
    const int nid = OBJ_obj2nid(obj);
    const bool critical = X509_EXTENSION_get_critical(ext) != 0;
    std::string label = nid == NID_undef ? oid_text(obj) : OBJ_nid2ln(nid);
    if (critical)
      label += " (critical)";
    s.fields.emplace_back(label, extension_text(ext));
    if (nid == NID_basic_constraints)
      has_bc = true;
    if (nid == NID_subject_alt_name)
      has_san = true;
    if (nid == NID_key_usage)
      has_ku = true;
    if (critical && X509_supported_extension(ext) == 0)
      s.notable.push_back("unknown critical extension " + oid_text(obj));
  }
  const uint32_t flags = X509_get_extension_flags(&x);
  if (X509_get_version(&x) == 2) {
    if (!has_bc && !self_issued)
      s.notable.push_back("no basicConstraints");
    if (has_bc && (flags & EXFLAG_CA) && (flags & EXFLAG_KUSAGE) &&
        !(X509_get_key_usage(&x) & KU_KEY_CERT_SIGN))
      s.notable.push_back("CA without keyCertSign in keyUsage");
    if (has_bc && !(flags & EXFLAG_CA) && X509_get_pathlen(&x) < 0 && !has_san && !ca)
      s.notable.push_back("end entity without subjectAltName (names only in the subject CN)");
    if (has_bc && (flags & EXFLAG_CA) && has_ku && !(X509_get_key_usage(&x) & KU_KEY_CERT_SIGN))
      s.notable.push_back("basicConstraints CA:TRUE but cannot sign certificates");
  }
  ossl::clear_errors();
  return s;
}

std::string format_summary(const CertificateSummary& summary) {
  std::size_t width = 0;
  for (const auto& [label, _] : summary.fields)
    width = std::max(width, label.size());
  std::string out;
  for (const auto& [label, value] : summary.fields)
    out += "  " + label + std::string(width - label.size(), ' ') + "  " + value + "\n";
  if (!summary.notable.empty()) {
    out += "  notable:\n";
    for (const auto& n : summary.notable)
      out += "    - " + n + "\n";
  }
  return out;
}

} // namespace pki

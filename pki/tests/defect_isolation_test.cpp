// Each deliberately broken certificate differs from its good twin in the one way its defect names,
// as the openssl CLI sees the two certificates.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>

#include "pki_fixture.hpp"

namespace {
namespace fs = std::filesystem;
using testing_support::default_pki;
using testing_support::openssl;

// What `openssl x509 -text` prints about a certificate, field by field: the version, signature
// algorithm, issuer, notBefore, notAfter, subject, public key, each extension (by name, with its
// criticality and value) and the list of extensions. Serial number and signature value are left
// out: they differ between any two certificates.
std::map<std::string, std::string> describe(const fs::path& cert) {
  std::istringstream text(openssl({"x509", "-in", cert.string(), "-noout", "-text"}));
  std::map<std::string, std::string> f;
  std::string* block = nullptr; // the multi-line field being read
  std::size_t block_indent = 0;
  bool in_extensions = false;
  const auto indent = [](const std::string& line) { return line.find_first_not_of(' '); };
  const auto after = [](const std::string& line, const std::string& label) {
    return line.substr(line.find(label) + label.size());
  };
  for (std::string line; std::getline(text, line);) {
    const auto at = indent(line);
    if (block && at != std::string::npos && at > block_indent) {
      *block += line + "\n";
      continue;
    }
    block = nullptr;
    if (at == 8 && !line.starts_with("        X509v3 extensions:"))
      in_extensions = false;
    if (line.starts_with("        Version:"))
      f["version"] = after(line, "Version:");
    else if (line.starts_with("        Signature Algorithm:"))
      f["signature"] = after(line, "Signature Algorithm:");
    else if (line.starts_with("        Issuer:"))
      f["issuer"] = after(line, "Issuer:");
    else if (line.starts_with("            Not Before:"))
      f["notBefore"] = after(line, "Not Before:");
    else if (line.starts_with("            Not After :"))
      f["notAfter"] = after(line, "Not After :");
    else if (line.starts_with("        Subject:"))
      f["subject"] = after(line, "Subject:");
    else if (line.starts_with("        Subject Public Key Info:")) {
      block = &f["publicKey"];
      block_indent = 8;
    } else if (line.starts_with("        X509v3 extensions:")) {
      in_extensions = true;
    } else if (in_extensions && at == 12) {
      // "X509v3 Key Usage: critical" -> field "X509v3 Key Usage", value from the header on.
      const auto name = line.substr(12, line.find(':', 12) - 12);
      f["extensions"] += line.substr(12) + "\n";
      block = &f[name];
      *block = line.substr(12) + "\n";
      block_indent = 12;
    }
  }
  return f;
}

// `broken` differs from `twin` in exactly the fields `changed`, and in each of them.
void expect_only_differences(const std::string& twin, const std::string& broken,
                             const std::set<std::string>& changed) {
  SCOPED_TRACE(broken + " vs " + twin);
  const auto& pki = default_pki();
  const auto a = describe(pki.file(twin, "cert"));
  const auto b = describe(pki.file(broken, "cert"));
  // The parse found what it must, so an empty comparison cannot pass by accident.
  for (const char* name : {"version", "signature", "issuer", "notBefore", "notAfter", "subject",
                           "publicKey", "extensions", "X509v3 Basic Constraints"})
    ASSERT_TRUE(a.contains(name) && !a.at(name).empty()) << "no " << name << " in " << twin;
  std::set<std::string> fields;
  for (const auto& m : {a, b})
    for (const auto& [name, _] : m)
      fields.insert(name);
  for (const auto& name : changed)
    ASSERT_TRUE(fields.contains(name)) << "no field " << name;
  for (const auto& name : fields) {
    const auto left = a.contains(name) ? a.at(name) : "(absent)";
    const auto right = b.contains(name) ? b.at(name) : "(absent)";
    if (changed.contains(name))
      EXPECT_NE(left, right) << name << " should differ";
    else
      EXPECT_EQ(left, right) << name << " should be the same";
  }
}

std::string field(const std::string& entity, const std::string& name) {
  return describe(default_pki().file(entity, "cert")).at(name);
}

TEST(DefectIsolation, ExpiredDiffersOnlyInValidity) {
  expect_only_differences("server", "server_expired", {"notBefore", "notAfter"});
  expect_only_differences("client", "client_expired", {"notBefore", "notAfter"});
}

TEST(DefectIsolation, NotYetValidDiffersOnlyInValidity) {
  // notAfter stays a year from now, as the good certificate's.
  expect_only_differences("server", "server_not_yet_valid", {"notBefore"});
  expect_only_differences("client", "client_not_yet_valid", {"notBefore"});
}

TEST(DefectIsolation, WrongEkuDiffersOnlyInExtendedKeyUsage) {
  expect_only_differences("server", "server_wrong_eku", {"X509v3 Extended Key Usage"});
  expect_only_differences("client", "client_wrong_eku", {"X509v3 Extended Key Usage"});
  const auto server_eku = field("server_wrong_eku", "X509v3 Extended Key Usage");
  EXPECT_NE(server_eku.find("TLS Web Client Authentication"), std::string::npos) << server_eku;
  EXPECT_EQ(server_eku.find("TLS Web Server Authentication"), std::string::npos) << server_eku;
}

TEST(DefectIsolation, HostnameMismatchDiffersOnlyInNames) {
  expect_only_differences("server", "server_hostname_mismatch",
                          {"subject", "X509v3 Subject Alternative Name"});
  const auto san = field("server_hostname_mismatch", "X509v3 Subject Alternative Name");
  EXPECT_NE(san.find("DNS:wrong.host.invalid"), std::string::npos) << san;
  EXPECT_EQ(san.find("localhost"), std::string::npos) << san;
}

TEST(DefectIsolation, WeakDigestsDifferOnlyInTheSignatureAlgorithm) {
  expect_only_differences("server", "server_sha1_signature", {"signature"});
  EXPECT_NE(field("server_sha1_signature", "signature").find("ecdsa-with-SHA1"), std::string::npos);
  expect_only_differences("server_rsa", "server_md5_signature", {"signature"});
  EXPECT_NE(field("server_md5_signature", "signature").find("md5WithRSAEncryption"),
            std::string::npos);
}

TEST(DefectIsolation, UnknownCriticalExtensionIsTheOnlyAddition) {
  expect_only_differences("server", "server_unknown_critical_extension",
                          {"extensions", "1.3.6.1.4.1.99999.42.1"});
  EXPECT_NE(field("server_unknown_critical_extension", "extensions")
                .find("1.3.6.1.4.1.99999.42.1: critical"),
            std::string::npos);
}

TEST(DefectIsolation, WeakKeyChangesOnlyTheKey) {
  // keyUsage gains keyEncipherment (an RSA server key also does RSA key exchange), and the subject
  // key identifier is derived from the key.
  expect_only_differences("server", "server_weak_key_rsa1024",
                          {"publicKey", "X509v3 Key Usage", "X509v3 Subject Key Identifier"});
  const auto key = field("server_weak_key_rsa1024", "publicKey");
  EXPECT_NE(key.find("rsaEncryption"), std::string::npos) << key;
  EXPECT_NE(key.find("Public-Key: (1024 bit)"), std::string::npos) << key;
  EXPECT_NE(field("server_weak_key_rsa1024", "X509v3 Key Usage").find("Key Encipherment"),
            std::string::npos);
}

TEST(DefectIsolation, BadSignatureKeepsEverySignedField) {
  expect_only_differences("server", "server_bad_signature", {});
}

std::string public_key_of_key_file(const fs::path& key) {
  return openssl({"pkey", "-in", key.string(), "-pubout"});
}

std::string public_key_of_cert(const fs::path& cert) {
  return openssl({"x509", "-in", cert.string(), "-noout", "-pubkey"});
}

TEST(DefectIsolation, KeyMismatchChangesOnlyTheKeyFile) {
  const auto& pki = default_pki();
  for (const std::string side : {"server", "client"}) {
    const std::string broken = side + "_key_mismatch";
    expect_only_differences(side, broken, {});
    EXPECT_EQ(public_key_of_key_file(pki.file(side, "key")),
              public_key_of_cert(pki.file(side, "cert")));
    EXPECT_NE(public_key_of_key_file(pki.file(broken, "key")),
              public_key_of_cert(pki.file(broken, "cert")));
    // No PKCS#12 can pair a certificate with a key it does not certify: the manifest says null.
    EXPECT_TRUE(pki.entity(broken).at("files").at("p12").is_null());
    EXPECT_FALSE(fs::exists(pki.dir / (broken + ".p12")));
  }
}

} // namespace

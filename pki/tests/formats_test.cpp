// The output files of the default PKI read by other tools: CRLs (openssl crl), PKCS#12 (openssl,
// Java keytool, NSS pk12util), key files (modes, PKCS#8, openssl pkey) and the PEM/DER bundles.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "pki_fixture.hpp"

namespace {
namespace fs = std::filesystem;
using testing_support::concat_files;
using testing_support::default_pki;
using testing_support::have_program;
using testing_support::IssuedDir;
using testing_support::openssl;
using testing_support::read_text;
using testing_support::run;
using testing_support::ScratchDir;

std::vector<std::string> entities_with(const IssuedDir& pki, const std::string& kind) {
  std::vector<std::string> names;
  for (const auto& name : pki.entity_names())
    if (pki.entity(name).at("files").contains(kind))
      names.push_back(name);
  return names;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
    ++n;
  return n;
}

// "key=value\n" -> value
std::string value_of(const std::string& line) {
  const auto eq = line.find('=');
  auto v = eq == std::string::npos ? line : line.substr(eq + 1);
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r'))
    v.pop_back();
  return v;
}

std::string serial_of(const fs::path& cert) {
  return value_of(openssl({"x509", "-in", cert.string(), "-noout", "-serial"}));
}

// The DER inside a single PEM block (RFC 7468 base64, line breaks ignored).
std::string pem_body(const std::string& pem) {
  const auto begin = pem.find('\n', pem.find("-----BEGIN ")) + 1;
  const auto end = pem.find("-----END ");
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0, value = 0;
  for (std::size_t i = begin; i < end; ++i) {
    const auto digit = alphabet.find(pem[i]);
    if (digit == std::string::npos)
      continue; // newlines and '=' padding
    value = (value << 6) | static_cast<unsigned>(digit);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((value >> bits) & 0xff);
    }
  }
  return out;
}

// CRLs

TEST(Crls, EveryCaCrlIsSignedByItsCa) {
  const auto& pki = default_pki();
  const auto cas = entities_with(pki, "crl");
  EXPECT_GE(cas.size(), 14u);
  for (const auto& ca : cas) {
    SCOPED_TRACE(ca);
    const auto crl = pki.file(ca, "crl").string();
    const auto r = run({"openssl", "crl", "-in", crl, "-CAfile", pki.file(ca, "fullchain").string(),
                        "-noout", "-verify", "-issuer"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("verify OK"), std::string::npos) << r.err;
    EXPECT_EQ(value_of(r.out), value_of(openssl({"x509", "-in", pki.file(ca, "cert").string(),
                                                 "-noout", "-subject"})));
  }
  // The check can fail: the root's CRL does not verify with the intermediate's certificate.
  const auto wrong = run({"openssl", "crl", "-in", pki.file("root", "crl").string(), "-CAfile",
                          pki.file("intermediate", "cert").string(), "-noout", "-verify"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_EQ(wrong.err.find("verify OK"), std::string::npos) << wrong.err;
}

TEST(Crls, RevokedCertificatesAreListedForKeyCompromise) {
  const auto& pki = default_pki();
  for (const std::string name : {"server_revoked", "client_revoked"}) {
    SCOPED_TRACE(name);
    const auto issuer = pki.chain(name).at(1);
    const auto text = openssl({"crl", "-in", pki.file(issuer, "crl").string(), "-noout", "-text"});
    const auto serial = serial_of(pki.file(name, "cert"));
    const auto at = text.find("Serial Number: " + serial);
    ASSERT_NE(at, std::string::npos) << serial << " not in\n" << text;
    const auto entry = text.substr(at, text.find("Serial Number:", at + 1) - at);
    EXPECT_NE(entry.find("X509v3 CRL Reason Code:"), std::string::npos) << entry;
    EXPECT_NE(entry.find("Key Compromise"), std::string::npos) << entry;
    // The good twin is not revoked.
    EXPECT_EQ(text.find(serial_of(pki.file(name.substr(0, name.find('_')), "cert"))),
              std::string::npos);
  }
}

TEST(Crls, OnlyTheExpiredCrlIsPastNextUpdate) {
  const auto& pki = default_pki();
  for (const auto& ca : entities_with(pki, "crl")) {
    SCOPED_TRACE(ca);
    const auto next = testing_support::parse_utc(
        value_of(openssl({"crl", "-in", pki.file(ca, "crl").string(), "-noout", "-nextupdate",
                          "-dateopt", "iso_8601"})));
    if (ca == "intermediate_expired_crl")
      EXPECT_LT(next, pki.now_unix);
    else
      EXPECT_GT(next, pki.now_unix);
  }
}

TEST(Crls, BundleHoldsEveryCrl) {
  const auto& pki = default_pki();
  const auto bundle = read_text(pki.dir / "crls.pem");
  const auto cas = entities_with(pki, "crl");
  EXPECT_EQ(count(bundle, "-----BEGIN X509 CRL-----"), cas.size());
  for (const auto& ca : cas)
    EXPECT_NE(bundle.find(read_text(pki.file(ca, "crl"))), std::string::npos) << ca;
}

// PKCS#12

std::string password() {
  return default_pki().manifest.at("p12_password").get<std::string>();
}

TEST(Pkcs12, OpensslReadsKeyAndChain) {
  const auto& pki = default_pki();
  for (const std::string name : {"server", "client", "server_ed25519", "server_rsa"}) {
    SCOPED_TRACE(name);
    const auto p12 = pki.file(name, "p12").string();
    const auto info =
        run({"openssl", "pkcs12", "-info", "-noout", "-in", p12, "-passin", "pass:" + password()});
    ASSERT_EQ(info.exit_code, 0) << info.err;
    const auto text = info.out + info.err;
    EXPECT_EQ(count(text, "Certificate bag"), 3u) << text;
    EXPECT_EQ(count(text, "Shrouded Keybag"), 1u) << text;
    // The key inside certifies the leaf; the certificates are the chain up to the root.
    const auto key = run(
        {"openssl", "pkcs12", "-in", p12, "-passin", "pass:" + password(), "-nocerts", "-nodes"});
    ASSERT_EQ(key.exit_code, 0) << key.err;
    const auto pub = run({"openssl", "pkey", "-pubout"}, key.out);
    EXPECT_EQ(pub.out,
              openssl({"x509", "-in", pki.file(name, "cert").string(), "-noout", "-pubkey"}));
    const auto certs = openssl({"pkcs12", "-in", p12, "-passin", "pass:" + password(), "-nokeys"});
    for (const auto& c : pki.chain(name))
      EXPECT_NE(certs.find(read_text(pki.file(c, "cert"))), std::string::npos) << c;
  }
  const auto wrong = run({"openssl", "pkcs12", "-info", "-noout", "-in",
                          pki.file("server", "p12").string(), "-passin", "pass:wrong"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("Mac verify error"), std::string::npos) << wrong.err;
}

std::string sha256_fingerprint(const fs::path& cert) {
  return value_of(openssl({"x509", "-in", cert.string(), "-noout", "-fingerprint", "-sha256"}));
}

TEST(Pkcs12, KeytoolListsAPrivateKeyEntryWithTheWholeChain) {
  if (!have_program("keytool"))
    GTEST_SKIP() << "Java keytool not installed (openjdk-17-jdk-headless, scripts/setup)";
  const auto& pki = default_pki();
  for (const std::string name : {"server", "client", "server_ed25519"}) {
    SCOPED_TRACE(name);
    const auto r = run({"keytool", "-list", "-v", "-storetype", "PKCS12", "-keystore",
                        pki.file(name, "p12").string(), "-storepass", password()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("Entry type: PrivateKeyEntry"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Certificate chain length: 3"), std::string::npos) << r.out;
    // Certificate[1..3] are leaf, intermediate and root, in that order.
    static const std::regex fingerprint(R"(SHA256: ([0-9A-F:]+))");
    std::vector<std::string> listed;
    for (std::sregex_iterator it(r.out.begin(), r.out.end(), fingerprint), end; it != end; ++it)
      listed.push_back((*it)[1]);
    std::vector<std::string> expected;
    for (const auto& c : pki.chain(name))
      expected.push_back(sha256_fingerprint(pki.file(c, "cert")));
    EXPECT_EQ(listed, expected);
  }
  const auto wrong = run({"keytool", "-list", "-storetype", "PKCS12", "-keystore",
                          pki.file("server", "p12").string(), "-storepass", "wrong"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE((wrong.out + wrong.err).find("password was incorrect"), std::string::npos)
      << wrong.out << wrong.err;
}

TEST(Pkcs12, NssListsAndImportsIt) {
  if (!have_program("pk12util") || !have_program("certutil"))
    GTEST_SKIP() << "NSS pk12util/certutil not installed (libnss3-tools, scripts/setup)";
  const auto& pki = default_pki();
  for (const std::string name : {"server", "client"}) {
    SCOPED_TRACE(name);
    // A fresh database: pk12util must not depend on ~/.pki/nssdb.
    const ScratchDir nss;
    const std::string db = "sql:" + nss.path().string();
    const auto created = run({"certutil", "-N", "-d", db, "--empty-password"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    const auto p12 = pki.file(name, "p12").string();
    const auto listed = run({"pk12util", "-l", p12, "-W", password(), "-d", db});
    ASSERT_EQ(listed.exit_code, 0) << listed.out << listed.err;
    EXPECT_EQ(count(listed.out, "Certificate(has private key):"), 1u) << listed.out;
    EXPECT_EQ(count(listed.out, "\nCertificate:"), 2u) << listed.out;
    EXPECT_EQ(count(listed.out, "Key(shrouded):"), 1u) << listed.out;

    const auto imported = run({"pk12util", "-i", p12, "-W", password(), "-d", db});
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
    EXPECT_NE((imported.out + imported.err).find("PKCS12 IMPORT SUCCESSFUL"), std::string::npos);
    const auto keys = run({"certutil", "-K", "-d", db});
    EXPECT_EQ(keys.exit_code, 0) << keys.err;
    EXPECT_NE(keys.out.find(name), std::string::npos) << keys.out;
    const auto der = run({"certutil", "-L", "-d", db, "-n", name, "-r"});
    EXPECT_EQ(der.exit_code, 0) << der.err;
    EXPECT_EQ(der.out, read_text(pki.file(name, "der")));

    const auto wrong = run({"pk12util", "-l", p12, "-W", "wrong", "-d", db});
    EXPECT_NE(wrong.exit_code, 0);
    EXPECT_NE((wrong.out + wrong.err).find("SEC_ERROR_BAD_PASSWORD"), std::string::npos)
        << wrong.out << wrong.err;
  }
}

// Key files

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return 0xffff;
  return st.st_mode & 07777;
}

TEST(KeyFiles, AreOwnerOnlyPkcs8AndCertifyTheirCertificate) {
  const auto& pki = default_pki();
  for (const auto& name : pki.entity_names()) {
    SCOPED_TRACE(name);
    const auto key = pki.file(name, "key");
    EXPECT_EQ(mode_of(key), 0600u);
    EXPECT_TRUE(read_text(key).starts_with("-----BEGIN PRIVATE KEY-----\n"));
    const auto checked = run({"openssl", "pkey", "-in", key.string(), "-check", "-pubout"});
    EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
    EXPECT_TRUE(checked.out.starts_with("Key is valid\n")) << checked.out << checked.err;
    const auto key_pub = checked.out.substr(checked.out.find("-----BEGIN PUBLIC KEY-----"));
    const auto cert_pub =
        openssl({"x509", "-in", pki.file(name, "cert").string(), "-noout", "-pubkey"});
    if (name.ends_with("_key_mismatch"))
      EXPECT_NE(key_pub, cert_pub);
    else
      EXPECT_EQ(key_pub, cert_pub);
  }
}

TEST(OutputFiles, NothingIsWorldWritable) {
  const auto& pki = default_pki();
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(pki.dir)) {
    ++files;
    EXPECT_EQ(mode_of(e.path()) & 0002u, 0u) << e.path();
    if (e.path().string().ends_with(".p12")) {
      EXPECT_EQ(mode_of(e.path()), 0600u) << e.path();
    }
  }
  EXPECT_GT(files, 300u);
  EXPECT_EQ(mode_of(pki.dir) & 0022u, 0u);
}

TEST(OutputFiles, BundlesAreLeafIntermediatesAndRoot) {
  const auto& pki = default_pki();
  for (const auto& name : pki.entity_names()) {
    SCOPED_TRACE(name);
    const auto chain = pki.chain(name);
    std::vector<fs::path> certs;
    for (const auto& c : chain)
      certs.push_back(pki.file(c, "cert"));
    const auto root = certs.back();
    if (chain.size() > 1)
      certs.pop_back();
    EXPECT_EQ(read_text(pki.file(name, "chain")), concat_files(certs));
    if (chain.size() > 1)
      certs.push_back(root);
    EXPECT_EQ(read_text(pki.file(name, "fullchain")), concat_files(certs));
    EXPECT_EQ(read_text(pki.file(name, "der")), pem_body(read_text(pki.file(name, "cert"))));
  }
}

TEST(OutputFiles, TrustAnchorsAreTheTrustedRoots) {
  const auto& pki = default_pki();
  std::set<std::string> trusted;
  for (const auto& name : pki.entity_names())
    if (pki.entity(name).value("trusted", false))
      trusted.insert(name);
  const auto listed = pki.manifest.at("trust_anchors").get<std::set<std::string>>();
  EXPECT_EQ(listed, trusted);
  EXPECT_EQ(listed, (std::set<std::string>{"root", "root_expired"}));
  const auto anchors =
      read_text(pki.dir / pki.manifest.at("files").at("trust_anchors").get<std::string>());
  EXPECT_EQ(count(anchors, "-----BEGIN CERTIFICATE-----"), trusted.size());
  for (const auto& root : trusted)
    EXPECT_NE(anchors.find(read_text(pki.file(root, "cert"))), std::string::npos) << root;
}

TEST(OutputFiles, EveryFileTheManifestListsExists) {
  const auto& pki = default_pki();
  for (const auto& name : pki.entity_names())
    for (const auto& [kind, file] : pki.entity(name).at("files").items())
      if (!file.is_null()) {
        EXPECT_TRUE(fs::exists(pki.dir / file.get<std::string>())) << file;
      }
  for (const auto& [kind, file] : pki.manifest.at("files").items())
    EXPECT_TRUE(fs::exists(pki.dir / file.get<std::string>())) << file;
}

// "name=value" lines of `openssl x509 -noout -fingerprint ...`, by name.
std::map<std::string, std::string> printed_values(const std::string& out) {
  std::map<std::string, std::string> values;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (const auto eq = line.find('='); eq != std::string::npos)
      values[line.substr(0, eq)] = line.substr(eq + 1);
  return values;
}

TEST(OutputFiles, ManifestFactsMatchOpenssl) {
  const auto& pki = default_pki();
  for (const auto& name : pki.entity_names()) {
    SCOPED_TRACE(name);
    const auto& e = pki.entity(name);
    auto v = printed_values(
        openssl({"x509", "-in", pki.file(name, "cert").string(), "-noout", "-fingerprint",
                 "-sha256", "-serial", "-startdate", "-enddate", "-dateopt", "iso_8601"}));
    EXPECT_EQ(e.at("sha256_fingerprint").get<std::string>(), v["sha256 Fingerprint"]);
    auto serial = v["serial"];
    for (char& c : serial)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(e.at("serial").get<std::string>(), serial);
    EXPECT_EQ(testing_support::parse_utc(v["notBefore"]),
              testing_support::parse_utc(e.at("not_before").get<std::string>()));
    EXPECT_EQ(testing_support::parse_utc(v["notAfter"]),
              testing_support::parse_utc(e.at("not_after").get<std::string>()));
  }
}

} // namespace

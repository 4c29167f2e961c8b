// Independent verification of issued PKIs: `openssl verify` and GnuTLS `certtool` must give every
// certificate the verdict its manifest promises, and the error codes the issue demands.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <openssl/x509_vfy.h>

#include "pki_fixture.hpp"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::concat_files;
using testing_support::default_pki;
using testing_support::have_program;
using testing_support::IssuedDir;
using testing_support::openssl_verify;
using testing_support::parse_openssl_verify;
using testing_support::run;
using testing_support::ScratchDir;
using testing_support::VerifyFlags;
using testing_support::VerifyOutcome;

constexpr const char* server_auth_oid = "1.3.6.1.5.5.7.3.1";
constexpr const char* client_auth_oid = "1.3.6.1.5.5.7.3.2";

// The certificates of the default PKI that must verify everywhere: written down here rather than
// taken from the manifest, so a manifest that wrongly flags one of them is caught.
const std::set<std::string> must_be_good = {"root",
                                            "intermediate",
                                            "rsa_intermediate",
                                            "server",
                                            "client",
                                            "server_rsa",
                                            "client_rsa",
                                            "server_ed25519",
                                            "client_ed25519",
                                            "intermediate_two_level",
                                            "subca",
                                            "server_two_intermediates"};

std::string purpose_of(const IssuedDir& pki, const std::string& name) {
  const auto profile = pki.entity(name).at("profile").get<std::string>();
  return profile == "server" ? "sslserver" : profile == "client" ? "sslclient" : "";
}

// -purpose by profile, -attime at the PKI's "now".
VerifyFlags flags_for(const IssuedDir& pki, const std::string& name) {
  VerifyFlags flags;
  flags.purpose = purpose_of(pki, name);
  flags.at_time = pki.now_unix;
  return flags;
}

// The one verifier option a defect needs to show.
enum class Needs { nothing, hostname, crl_check, auth_level_1, auth_level_2 };

VerifyFlags with(VerifyFlags flags, const IssuedDir& pki, Needs needs) {
  switch (needs) {
  case Needs::nothing:
    break;
  case Needs::hostname:
    flags.hostname = "localhost";
    break;
  case Needs::crl_check:
    flags.crl_file = pki.dir / "crls.pem";
    break;
  case Needs::auth_level_1:
    flags.auth_level = 1;
    break;
  case Needs::auth_level_2:
    flags.auth_level = 2;
    break;
  }
  return flags;
}

// The intermediates between an entity and its root, built from their own certificate files.
std::optional<fs::path> intermediates(const IssuedDir& pki, const std::string& name,
                                      const ScratchDir& work) {
  const auto chain = pki.chain(name);
  if (chain.size() < 3)
    return std::nullopt;
  std::vector<fs::path> files;
  for (std::size_t i = 1; i + 1 < chain.size(); ++i)
    files.push_back(pki.file(chain[i], "cert"));
  const auto path = work / (name + ".intermediates.pem");
  testing_support::write_text(path, concat_files(files));
  return path;
}

// Certificates without a defect anywhere in their chain, under a trusted root, expected to verify.
std::vector<std::string> good_entities(const IssuedDir& pki) {
  std::vector<std::string> good;
  for (const auto& name : pki.entity_names()) {
    if (pki.entity(name).at("expected_verification").at("result") != "ok")
      continue;
    bool clean = true;
    for (const auto& c : pki.chain(name))
      clean = clean && pki.entity(c).at("defects").empty();
    clean = clean && pki.entity(pki.chain(name).back()).value("trusted", false);
    if (clean)
      good.push_back(name);
  }
  return good;
}

// Runs openssl verify with the options the manifest names for an entity, against trust-anchors.pem.
VerifyOutcome verify_as_manifest_says(const IssuedDir& pki, const std::string& name,
                                      const ScratchDir& work) {
  const auto& options = pki.entity(name).at("expected_verification").at("verify_options");
  VerifyFlags flags;
  flags.purpose = options.value("purpose", "");
  if (options.value("hostname", false))
    flags.hostname = pki.manifest.at("server_name").get<std::string>();
  if (options.value("crl_check", false))
    flags.crl_file = pki.dir / pki.manifest.at("files").at("crls").get<std::string>();
  if (options.contains("auth_level"))
    flags.auth_level = options.at("auth_level").get<int>();
  flags.at_time = pki.now_unix;
  return openssl_verify(pki.dir / pki.manifest.at("files").at("trust_anchors").get<std::string>(),
                        intermediates(pki, name, work), flags, pki.file(name, "cert"));
}

void expect_manifest_verdicts(const IssuedDir& pki) {
  const ScratchDir work;
  for (const auto& name : pki.entity_names()) {
    SCOPED_TRACE(name);
    const auto& expected = pki.entity(name).at("expected_verification");
    const auto got = verify_as_manifest_says(pki, name, work);
    EXPECT_EQ(got.error, expected.at("openssl_error").get<int>()) << got.output;
    if (got.error != 0) {
      EXPECT_EQ(got.depth, expected.at("openssl_error_depth").get<int>()) << got.output;
    }
  }
}

TEST(OpensslVerifyOutput, ParsesTheFirstErrorAndItsDepth) {
  const auto v = parse_openssl_verify(
      2, "",
      "O = x, CN = y\nerror 79 at 1 depth lookup: invalid CA certificate\n"
      "O = x, CN = y\nerror 26 at 1 depth lookup: unsuitable certificate purpose\n"
      "error a.pem: verification failed\n");
  EXPECT_EQ(v.error, 79);
  EXPECT_EQ(v.depth, 1);
  EXPECT_EQ(parse_openssl_verify(0, "a.pem: OK\n", "").error, 0);
  // Neither an error line nor OK: not mistaken for success.
  EXPECT_EQ(parse_openssl_verify(1, "", "Could not open file or uri\n").error, -1);
  EXPECT_EQ(parse_openssl_verify(0, "a.pem: NOT OK\n", "").error, -1);
}

TEST(DefaultPkiVerification, ParsingDetectsAWrongCode) {
  const auto& pki = default_pki();
  const ScratchDir work;
  const auto anchors = pki.dir / "trust-anchors.pem";
  auto flags = flags_for(pki, "server");
  // Without its intermediate the good server cannot be verified.
  const auto alone = openssl_verify(anchors, std::nullopt, flags, pki.file("server", "cert"));
  EXPECT_EQ(alone.error, 20) << alone.output;
  const auto with_chain = openssl_verify(anchors, intermediates(pki, "server", work), flags,
                                         pki.file("server", "cert"));
  EXPECT_EQ(with_chain.error, 0) << with_chain.output;
  EXPECT_NE(with_chain.error, 10);
  // Two years on, the same certificate has expired: -attime is honoured and 10 is seen.
  flags.at_time = pki.now_unix + 2 * 366 * 86400;
  const auto later = openssl_verify(anchors, intermediates(pki, "server", work), flags,
                                    pki.file("server", "cert"));
  EXPECT_EQ(later.error, 10) << later.output;
  EXPECT_EQ(later.depth, 0);
  // Two days ago not even the root was valid yet (OpenSSL checks validity from the top down).
  flags.at_time = pki.now_unix - 2 * 86400;
  const auto earlier = openssl_verify(anchors, intermediates(pki, "server", work), flags,
                                      pki.file("server", "cert"));
  EXPECT_EQ(earlier.error, 9) << earlier.output;
  EXPECT_EQ(earlier.depth, 2);
}

TEST(DefaultPkiVerification, GoodCertificatesVerifyWithOpenssl) {
  const auto& pki = default_pki();
  const auto good = good_entities(pki);
  for (const auto& name : must_be_good)
    EXPECT_NE(std::find(good.begin(), good.end(), name), good.end())
        << name << " is not a clean, trusted, ok entity in the manifest";
  for (const auto& name : good) {
    SCOPED_TRACE(name);
    const auto flags = flags_for(pki, name);
    // Trusting only the root of its own chain, intermediates from the entity's chain file.
    const auto own_root = pki.file(pki.chain(name).back(), "cert");
    const auto v = openssl_verify(own_root, pki.file(name, "chain"), flags, pki.file(name, "cert"));
    EXPECT_TRUE(v.ok()) << v.output;
    const auto all = openssl_verify(pki.dir / "trust-anchors.pem", pki.file(name, "chain"), flags,
                                    pki.file(name, "cert"));
    EXPECT_TRUE(all.ok()) << all.output;
  }
}

TEST(DefaultPkiVerification, GoodServerMatchesItsNamesAndAddresses) {
  const auto& pki = default_pki();
  const auto check = [&](const char* hostname, const char* ip, int expected) {
    auto flags = flags_for(pki, "server");
    if (hostname)
      flags.hostname = hostname;
    if (ip)
      flags.ip = ip;
    const auto v = openssl_verify(pki.file("root", "cert"), pki.file("server", "chain"), flags,
                                  pki.file("server", "cert"));
    EXPECT_EQ(v.error, expected) << v.output;
  };
  check("localhost", nullptr, 0);
  check(nullptr, "127.0.0.1", 0);
  check(nullptr, "::1", 0);
  check("wrong.host.invalid", nullptr, 62); // X509_V_ERR_HOSTNAME_MISMATCH
  check(nullptr, "127.0.0.2", 64);          // X509_V_ERR_IP_ADDRESS_MISMATCH
}

std::string certtool_output(const std::vector<std::string>& argv) {
  const auto r = run(argv);
  return r.out + r.err;
}

bool certtool_verified(const std::string& output) {
  return output.find("Chain verification output: Verified.") != std::string::npos;
}

TEST(DefaultPkiVerification, GoodCertificatesVerifyWithCerttool) {
  if (!have_program("certtool"))
    GTEST_SKIP() << "GnuTLS certtool not installed (gnutls-bin)";
  const auto& pki = default_pki();
  const ScratchDir work;
  for (const auto& name : good_entities(pki)) {
    SCOPED_TRACE(name);
    std::vector<std::string> options;
    const auto profile = pki.entity(name).at("profile").get<std::string>();
    if (profile == "server")
      options = {"--verify-purpose", server_auth_oid, "--verify-hostname", "localhost"};
    if (profile == "client")
      options = {"--verify-purpose", client_auth_oid};
    // Leaf, intermediates and root, each from its own certificate file.
    std::vector<fs::path> certs;
    for (const auto& c : pki.chain(name))
      certs.push_back(pki.file(c, "cert"));
    const auto bundle = work / (name + ".bundle.pem");
    testing_support::write_text(bundle, concat_files(certs));

    std::vector<std::string> chain_argv{"certtool", "--verify-chain", "--infile", bundle.string()};
    chain_argv.insert(chain_argv.end(), options.begin(), options.end());
    const auto chain_out = certtool_output(chain_argv);
    EXPECT_TRUE(certtool_verified(chain_out)) << chain_out;

    // --verify-chain trusts whatever the last certificate is; --verify pins the trust anchor.
    std::vector<std::string> anchored{"certtool",
                                      "--verify",
                                      "--load-ca-certificate",
                                      certs.back().string(),
                                      "--infile",
                                      pki.file(name, "chain").string()};
    anchored.insert(anchored.end(), options.begin(), options.end());
    const auto anchored_out = certtool_output(anchored);
    EXPECT_TRUE(certtool_verified(anchored_out)) << anchored_out;
  }
  // The same checks fail where they should.
  const auto expired = certtool_output(
      {"certtool", "--verify-chain", "--infile", pki.file("server_expired", "fullchain").string()});
  EXPECT_FALSE(certtool_verified(expired)) << expired;
  EXPECT_NE(expired.find("expired"), std::string::npos) << expired;
  const auto untrusted = certtool_output({"certtool", "--verify", "--load-ca-certificate",
                                          pki.file("root", "cert").string(), "--infile",
                                          pki.file("server_untrusted_root", "chain").string()});
  EXPECT_FALSE(certtool_verified(untrusted)) << untrusted;
  const auto wrong_name =
      certtool_output({"certtool", "--verify-chain", "--verify-hostname", "wrong.host.invalid",
                       "--infile", pki.file("server", "fullchain").string()});
  EXPECT_FALSE(certtool_verified(wrong_name)) << wrong_name;
}

// What GnuTLS certtool says of each broken certificate, written down independently of the
// catalog: the entity, the purpose it is verified for, and a word of certtool's verdict (empty: it
// accepts). Leaf, intermediates and the trusted root go in one --verify-chain bundle. certtool
// checks no CRL, no security level and no host name here, so those defects are not in the table.
struct CerttoolDemand {
  std::string entity;
  std::string says; // a word of certtool's verdict; "" = verified
};

const std::vector<CerttoolDemand> certtool_demands = {
    {"server_expired", "uses expired certificate"},
    {"client_expired", "uses expired certificate"},
    {"server_not_yet_valid", "uses not yet valid certificate"},
    {"client_not_yet_valid", "uses not yet valid certificate"},
    {"server_wrong_eku", "does not match the intended purpose"},
    {"client_wrong_eku", "does not match the intended purpose"},
    {"server_bad_signature", "signature in the certificate is invalid"},
    {"client_bad_signature", "signature in the certificate is invalid"},
    {"server_issuer_not_ca", "issuer is not a CA"},
    {"client_issuer_not_ca", "issuer is not a CA"},
    {"server_issuer_no_basic_constraints", "issuer is not a CA"},
    {"client_issuer_no_basic_constraints", "issuer is not a CA"},
    {"server_issuer_no_keycertsign", "violates the signer's constraints"},
    {"client_issuer_no_keycertsign", "violates the signer's constraints"},
    {"server_v1_issuer", "issuer is not a CA"},
    {"client_v1_issuer", "issuer is not a CA"},
    {"server_pathlen_exceeded", "violates the signer's constraints"},
    {"client_pathlen_exceeded", "violates the signer's constraints"},
    {"server_name_constraints_violation", "violates the signer's constraints"},
    {"client_name_constraints_violation", "violates the signer's constraints"},
    {"server_expired_intermediate", "uses expired certificate"},
    {"client_expired_intermediate", "uses expired certificate"},
    {"server_expired_root", "uses expired certificate"},
    {"client_expired_root", "uses expired certificate"},
    {"server_unknown_critical_extension", "unknown critical extension"},
    {"client_unknown_critical_extension", "unknown critical extension"},
    {"server_md5_signature", "uses insecure algorithm"},
    {"client_md5_signature", "uses insecure algorithm"},
    {"server_sha1_signature", "uses insecure algorithm"},
    {"client_sha1_signature", "uses insecure algorithm"},
    // Defects certtool accepts in a chain check, like OpenSSL (the TLS stacks decide).
    {"server_leaf_is_ca", ""},
    {"client_leaf_is_ca", ""},
    {"server_key_mismatch", ""},
    {"client_key_mismatch", ""},
    {"client_ed25519", ""},
    {"server_two_intermediates", ""},
};

TEST(DefaultPkiVerification, CerttoolJudgesEveryBrokenLeafAsTheTableSays) {
  if (!have_program("certtool"))
    GTEST_SKIP() << "GnuTLS certtool not installed (gnutls-bin)";
  const auto& pki = default_pki();
  const ScratchDir work;
  for (const auto& d : certtool_demands) {
    SCOPED_TRACE(d.entity);
    std::vector<fs::path> certs;
    for (const auto& c : pki.chain(d.entity))
      certs.push_back(pki.file(c, "cert"));
    const auto bundle = work / (d.entity + ".bundle.pem");
    testing_support::write_text(bundle, concat_files(certs));
    const auto profile = pki.entity(d.entity).at("profile").get<std::string>();
    const auto out = certtool_output({"certtool", "--verify-chain", "--infile", bundle.string(),
                                      "--verify-purpose",
                                      profile == "server" ? server_auth_oid : client_auth_oid});
    if (d.says.empty()) {
      EXPECT_TRUE(certtool_verified(out)) << out;
    } else {
      EXPECT_FALSE(certtool_verified(out)) << out;
      EXPECT_NE(out.find(d.says), std::string::npos) << out;
    }
  }
}

TEST(DefaultPkiVerification, EveryEntityGetsTheErrorItsManifestPromises) {
  expect_manifest_verdicts(default_pki());
}

// What the issue demands of each defect, written down independently of the catalog in
// pki/src/defects.cpp: the entity of the default spec that carries it, the options it needs, and
// OpenSSL 3.0's code and depth.
struct Demand {
  std::string entity;
  std::string defect; // on the entity or one of its issuers; empty: none
  int error;
  int depth;
  Needs needs;
};

const std::vector<Demand> demands = {
    {"server_expired", "expired", 10, 0, Needs::nothing},
    {"client_expired", "expired", 10, 0, Needs::nothing},
    {"server_not_yet_valid", "not_yet_valid", 9, 0, Needs::nothing},
    {"client_not_yet_valid", "not_yet_valid", 9, 0, Needs::nothing},
    {"server_untrusted_root", "untrusted_root", 20, 0, Needs::nothing},
    {"client_untrusted_root", "untrusted_root", 20, 0, Needs::nothing},
    {"server_self_signed", "self_signed", 18, 0, Needs::nothing},
    {"client_self_signed", "self_signed", 18, 0, Needs::nothing},
    {"server_wrong_eku", "wrong_eku", 26, 0, Needs::nothing},
    {"client_wrong_eku", "wrong_eku", 26, 0, Needs::nothing},
    {"server_issuer_not_ca", "issuer_not_ca", 79, 1, Needs::nothing},
    {"server_hostname_mismatch", "hostname_mismatch", 62, 0, Needs::hostname},
    {"server_sha1_signature", "sha1_signature", 68, 0, Needs::auth_level_2},
    {"server_revoked", "revoked", 23, 0, Needs::crl_check},
    {"client_revoked", "revoked", 23, 0, Needs::crl_check},
    {"server_expired_intermediate", "expired_intermediate", 10, 1, Needs::nothing},
    {"server_expired_root", "expired_root", 10, 1, Needs::nothing},
    {"server_bad_signature", "bad_signature", 7, 0, Needs::nothing},
    {"client_bad_signature", "bad_signature", 7, 0, Needs::nothing},
    {"server_unknown_critical_extension", "unknown_critical_extension", 34, 0, Needs::nothing},
    {"server_name_constraints_violation", "name_constraints_violation", 47, 0, Needs::nothing},
    {"server_pathlen_exceeded", "pathlen_exceeded", 25, 2, Needs::nothing},
    {"server_md5_signature", "md5_signature", 68, 0, Needs::auth_level_1},
    {"server_weak_key_rsa1024", "weak_key_rsa1024", 66, 0, Needs::auth_level_2},
    {"server_v1_issuer", "v1_issuer", 79, 1, Needs::nothing},
    {"server_issuer_no_keycertsign", "issuer_no_keycertsign", 79, 1, Needs::nothing},
    {"server_issuer_no_basic_constraints", "issuer_no_basic_constraints", 79, 1, Needs::nothing},
    {"server_expired_crl", "expired_crl", 12, 0, Needs::crl_check},
    // The same defects on client certificates (the server verifies them).
    {"client_issuer_not_ca", "issuer_not_ca", 79, 1, Needs::nothing},
    {"client_issuer_no_basic_constraints", "issuer_no_basic_constraints", 79, 1, Needs::nothing},
    {"client_issuer_no_keycertsign", "issuer_no_keycertsign", 79, 1, Needs::nothing},
    {"client_v1_issuer", "v1_issuer", 79, 1, Needs::nothing},
    {"client_pathlen_exceeded", "pathlen_exceeded", 25, 2, Needs::nothing},
    {"client_name_constraints_violation", "name_constraints_violation", 47, 0, Needs::nothing},
    {"client_expired_intermediate", "expired_intermediate", 10, 1, Needs::nothing},
    {"client_expired_root", "expired_root", 10, 1, Needs::nothing},
    {"client_expired_crl", "expired_crl", 12, 0, Needs::crl_check},
    {"client_unknown_critical_extension", "unknown_critical_extension", 34, 0, Needs::nothing},
    {"client_sha1_signature", "sha1_signature", 68, 0, Needs::auth_level_2},
    {"client_md5_signature", "md5_signature", 68, 0, Needs::auth_level_1},
    {"client_weak_key_rsa1024", "weak_key_rsa1024", 66, 0, Needs::auth_level_2},
    // Defects OpenSSL accepts (other verifiers do not; see the catalog notes).
    {"server_key_mismatch", "key_mismatch", 0, 0, Needs::nothing},
    {"server_leaf_is_ca", "leaf_is_ca", 0, 0, Needs::nothing},
    {"server_cn_only_no_san", "cn_only_no_san", 0, 0, Needs::hostname},
    {"client_key_mismatch", "key_mismatch", 0, 0, Needs::nothing},
    {"client_leaf_is_ca", "leaf_is_ca", 0, 0, Needs::nothing},
    // A root that is not a trust anchor, verified on its own.
    {"untrusted_root", "", 18, 0, Needs::nothing},
};

// The names of the codes above, from OpenSSL's own header.
#define TLSMATRIX_CODE(name)                                                                       \
  { name, #name }
const std::map<int, std::string> code_names = {
    TLSMATRIX_CODE(X509_V_OK),
    TLSMATRIX_CODE(X509_V_ERR_CERT_SIGNATURE_FAILURE),
    TLSMATRIX_CODE(X509_V_ERR_CERT_NOT_YET_VALID),
    TLSMATRIX_CODE(X509_V_ERR_CERT_HAS_EXPIRED),
    TLSMATRIX_CODE(X509_V_ERR_CRL_HAS_EXPIRED),
    TLSMATRIX_CODE(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT),
    TLSMATRIX_CODE(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
    TLSMATRIX_CODE(X509_V_ERR_CERT_REVOKED),
    TLSMATRIX_CODE(X509_V_ERR_PATH_LENGTH_EXCEEDED),
    TLSMATRIX_CODE(X509_V_ERR_INVALID_PURPOSE),
    TLSMATRIX_CODE(X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION),
    TLSMATRIX_CODE(X509_V_ERR_PERMITTED_VIOLATION),
    TLSMATRIX_CODE(X509_V_ERR_HOSTNAME_MISMATCH),
    TLSMATRIX_CODE(X509_V_ERR_EE_KEY_TOO_SMALL),
    TLSMATRIX_CODE(X509_V_ERR_CA_MD_TOO_WEAK),
    TLSMATRIX_CODE(X509_V_ERR_INVALID_CA),
};
#undef TLSMATRIX_CODE

bool chain_carries(const IssuedDir& pki, const std::string& name, const std::string& defect) {
  for (const auto& c : pki.chain(name))
    for (const auto& d : pki.entity(c).at("defects"))
      if (d == defect)
        return true;
  return false;
}

TEST(DefaultPkiVerification, OpensslReportsTheCodesTheIssueDemands) {
  const auto& pki = default_pki();
  const ScratchDir work;
  for (const auto& d : demands) {
    SCOPED_TRACE(d.entity);
    if (!d.defect.empty()) {
      EXPECT_TRUE(chain_carries(pki, d.entity, d.defect)) << d.defect;
    }
    const auto flags = with(flags_for(pki, d.entity), pki, d.needs);
    // The trusted anchors, never the entity's own root: an untrusted root must stay untrusted.
    const auto got =
        openssl_verify(pki.dir / "trust-anchors.pem", intermediates(pki, d.entity, work), flags,
                       pki.file(d.entity, "cert"));
    EXPECT_EQ(got.error, d.error) << got.output;
    if (d.error != 0) {
      EXPECT_EQ(got.depth, d.depth) << got.output;
    }

    // The manifest promises the same, with the same options.
    const auto& expected = pki.entity(d.entity).at("expected_verification");
    EXPECT_EQ(expected.at("openssl_error").get<int>(), d.error);
    ASSERT_TRUE(code_names.contains(d.error)) << d.error;
    EXPECT_EQ(expected.at("openssl_error_name").get<std::string>(), code_names.at(d.error));
    if (d.error != 0) {
      EXPECT_EQ(expected.at("openssl_error_depth").get<int>(), d.depth);
    }
    const auto& options = expected.at("verify_options");
    EXPECT_EQ(options.value("hostname", false), d.needs == Needs::hostname);
    EXPECT_EQ(options.value("crl_check", false), d.needs == Needs::crl_check);
    const int level = d.needs == Needs::auth_level_1 ? 1 : d.needs == Needs::auth_level_2 ? 2 : 0;
    EXPECT_EQ(options.value("auth_level", 0), level);
  }
}

TEST(DefaultPkiVerification, DefectsShowOnlyWithTheOptionTheyNeed) {
  const auto& pki = default_pki();
  const ScratchDir work;
  const auto check = [&](const std::string& name, std::optional<int> auth_level, int expected) {
    SCOPED_TRACE(name);
    auto flags = flags_for(pki, name);
    flags.auth_level = auth_level;
    const auto got = openssl_verify(pki.dir / "trust-anchors.pem", intermediates(pki, name, work),
                                    flags, pki.file(name, "cert"));
    EXPECT_EQ(got.error, expected) << got.output;
  };
  // The openssl verify CLI applies no security level unless -auth_level is given.
  check("server_sha1_signature", std::nullopt, 0);
  check("server_sha1_signature", 1, 68); // OpenSSL 3.0 rates SHA-1 signatures below 80 bits
  check("server_md5_signature", std::nullopt, 0);
  check("server_weak_key_rsa1024", 1, 0);
  // Without -crl_check, -verify_hostname or -purpose these verify.
  check("server_revoked", std::nullopt, 0);
  check("server_expired_crl", std::nullopt, 0);
  check("server_hostname_mismatch", std::nullopt, 0);
  const auto any_eku =
      openssl_verify(pki.dir / "trust-anchors.pem", intermediates(pki, "server_wrong_eku", work),
                     {}, pki.file("server_wrong_eku", "cert"));
  EXPECT_TRUE(any_eku.ok()) << any_eku.output;
}

TEST(DefaultPkiVerification, UntrustedRootLeavesNeedTheTrustedAnchors) {
  const auto& pki = default_pki();
  const auto anchors = testing_support::read_text(pki.dir / "trust-anchors.pem");
  EXPECT_NE(anchors.find(testing_support::read_text(pki.file("root", "cert"))), std::string::npos);
  EXPECT_EQ(anchors.find(testing_support::read_text(pki.file("untrusted_root", "cert"))),
            std::string::npos);
  const auto leaf = pki.file("server_untrusted_root", "cert");
  const auto flags = flags_for(pki, "server_untrusted_root");
  EXPECT_EQ(openssl_verify(pki.dir / "trust-anchors.pem", std::nullopt, flags, leaf).error, 20);
  // Handed the untrusted root as an untrusted certificate, OpenSSL finds it and reports 19
  // (self-signed certificate in chain) instead; trusting it makes the leaf verify.
  EXPECT_EQ(
      openssl_verify(pki.dir / "trust-anchors.pem", pki.file("untrusted_root", "cert"), flags, leaf)
          .error,
      19);
  EXPECT_TRUE(openssl_verify(pki.file("untrusted_root", "cert"), std::nullopt, flags, leaf).ok());
}

TEST(DefaultPkiVerification, EveryCatalogDefectIsIssuedAndDemanded) {
  const auto& pki = default_pki();
  const auto r = run({testing_support::tlsmatrix_binary(), "pki", "defects", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> issued, demanded;
  for (const auto& name : pki.entity_names())
    for (const auto& d : pki.entity(name).at("defects"))
      issued.insert(d.get<std::string>());
  for (const auto& d : demands)
    demanded.insert(d.defect);
  const auto catalog = json::parse(r.out);
  EXPECT_GE(catalog.size(), 24u);
  for (const auto& d : catalog) {
    const auto name = d.at("name").get<std::string>();
    EXPECT_TRUE(issued.contains(name)) << name << " is on no certificate of the default PKI";
    EXPECT_TRUE(demanded.contains(name)) << name << " has no independent expectation in this test";
  }
}

// Deeper chains than the default PKI has: where OpenSSL reports a CA's defect for certificates
// two or three levels below it.
TEST(DeepChainVerification, DefectsOfUpperCasReportWhereOpensslDoes) {
  const ScratchDir work;
  json entities = {
      {"root", {{"profile", "root"}}},
      {"uroot", {{"profile", "root"}, {"trusted", false}, {"subject", "/CN=uroot"}}},
      {"root_crl",
       {{"profile", "root"}, {"subject", "/CN=root crl"}, {"defects", {"expired_crl"}}}},
  };
  const auto ca = [&](const std::string& name, const std::string& issuer,
                      std::vector<std::string> defects = {}) {
    entities[name] = {{"profile", "intermediate"},
                      {"issuer", issuer},
                      {"subject", "/CN=" + name},
                      {"defects", defects}};
  };
  const auto leaf = [&](const std::string& name, const std::string& issuer, json san,
                        const std::string& cn = "localhost",
                        const std::string& profile = "server") {
    entities[name] = {
        {"profile", profile}, {"issuer", issuer}, {"subject", "/CN=" + cn}, {"san", san}};
  };
  const json localhost = {"DNS:localhost"};
  ca("int_crl", "root", {"expired_crl"});
  ca("sub_crl", "int_crl");
  leaf("leaf_crl", "sub_crl", localhost);
  ca("int_under_root_crl", "root_crl");
  leaf("leaf_root_crl", "int_under_root_crl", localhost);
  ca("int_nc", "root", {"name_constraints_violation"});
  ca("sub_nc", "int_nc");
  leaf("leaf_nc", "sub_nc", localhost);
  leaf("leaf_nc_cn", "int_nc", json::array(), "www.example.com");
  leaf("leaf_nc_ok", "int_nc", {"DNS:a.permitted.invalid"});
  leaf("client_nc", "int_nc", {"email:a@example.com"}, "client", "client");
  ca("int_nca", "root", {"issuer_not_ca"});
  ca("sub_nca", "int_nca");
  leaf("leaf_nca", "sub_nca", localhost);
  ca("int_v1", "root", {"v1_issuer"});
  ca("sub_v1", "int_v1");
  leaf("leaf_v1", "sub_v1", localhost);
  ca("int_pl", "root", {"pathlen_exceeded"});
  ca("sub_pl", "int_pl");
  ca("subsub_pl", "sub_pl");
  leaf("leaf_pl", "subsub_pl", localhost);
  ca("int_u", "uroot");
  leaf("leaf_u", "int_u", localhost);
  ca("int_sha1", "root", {"sha1_signature"});
  ca("sub_sha1", "int_sha1");
  leaf("leaf_sha1", "sub_sha1", localhost);
  ca("int_badsig", "root", {"bad_signature"});
  leaf("leaf_badsig", "int_badsig", localhost);
  const json spec = {{"version", 1}, {"entities", entities}};
  const auto pki = testing_support::issue(work / "deep", spec);

  // OpenSSL 3.0 behaviour, observed with `openssl verify` and written down here.
  struct Row {
    std::string entity;
    int error;
    int depth;
    Needs needs;
  };
  const std::vector<Row> rows = {
      {"sub_crl", 12, 0, Needs::crl_check}, // -crl_check looks up the end entity's status only
      {"leaf_crl", 0, 0, Needs::crl_check}, // ... so a CRL two levels up is never fetched
      {"int_under_root_crl", 12, 0, Needs::crl_check},
      {"leaf_root_crl", 0, 0, Needs::crl_check},
      {"sub_nc", 0, 0, Needs::nothing},      // a CA without DNS names breaks no DNS subtree
      {"leaf_nc", 47, 0, Needs::nothing},    // the violating certificate is reported, not the CA
      {"leaf_nc_cn", 47, 0, Needs::nothing}, // no DNS SAN: the CN is checked as a DNS name
      {"leaf_nc_ok", 0, 0, Needs::nothing},
      {"client_nc", 0, 0, Needs::nothing}, // e-mail addresses are not constrained by DNS subtrees
      {"sub_nca", 79, 1, Needs::nothing},  // an invalid CA is reported at the CA
      {"leaf_nca", 79, 2, Needs::nothing},
      {"sub_v1", 79, 1, Needs::nothing},
      {"leaf_v1", 79, 2, Needs::nothing},
      {"sub_pl", 0, 0, Needs::nothing},
      {"subsub_pl", 25, 2, Needs::nothing}, // pathLenConstraint: reported at the constraining CA
      {"leaf_pl", 25, 3, Needs::nothing},
      {"int_u", 20, 0, Needs::nothing},
      {"leaf_u", 20, 1, Needs::nothing}, // at the topmost certificate whose issuer is missing
      {"leaf_sha1", 68, 2, Needs::auth_level_2},
      {"leaf_badsig", 7, 1, Needs::nothing},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.entity);
    const auto flags = with(flags_for(pki, row.entity), pki, row.needs);
    const auto got =
        openssl_verify(pki.dir / "trust-anchors.pem", intermediates(pki, row.entity, work), flags,
                       pki.file(row.entity, "cert"));
    EXPECT_EQ(got.error, row.error) << got.output;
    if (row.error != 0) {
      EXPECT_EQ(got.depth, row.depth) << got.output;
    }
    const auto& expected = pki.entity(row.entity).at("expected_verification");
    EXPECT_EQ(expected.at("openssl_error").get<int>(), row.error);
    if (row.error != 0) {
      EXPECT_EQ(expected.at("openssl_error_depth").get<int>(), row.depth);
    }
  }
  expect_manifest_verdicts(pki);
}

} // namespace

// The PKI spec: malformed specs are refused by the real binary with the file, the JSON pointer and
// what was expected, writing nothing; valid specs resolve into the plans the profiles, derivation
// and defects promise.
#include "pki/spec.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "pki/defects.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using testing_support::run;
using testing_support::ScratchDir;
using testing_support::tlsmatrix_binary;

// ---------------------------------------------------------------------------------------------
// Malformed specs, through `tlsmatrix pki generate`

// A small valid PKI the malformed cases vary: root -> intermediate -> server, client.
const std::string root = R"("root": {"profile": "root"})";
const std::string intermediate = R"("intermediate": {"profile": "intermediate", "issuer": "root"})";
const std::string client = R"("client": {"profile": "client", "issuer": "intermediate"})";

std::string server(const std::string& extra = "") {
  return R"("server": {"profile": "server", "issuer": "intermediate")" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

std::string spec_of(const std::vector<std::string>& entities) {
  std::string out = R"({"version": 1, "entities": {)";
  for (std::size_t i = 0; i < entities.size(); ++i)
    out += (i ? ", " : "") + entities[i];
  return out + "}}";
}

// The base PKI with extra fields on the server.
std::string server_with(const std::string& extra) {
  return spec_of({root, intermediate, server(extra), client});
}

struct Malformed {
  std::string name; // CamelCase: the test's name
  std::string json;
  std::vector<std::string> fragments; // each must appear in stderr
};

// gtest prints a failing case's parameter: its name, not its bytes.
void PrintTo(const Malformed& m, std::ostream* os) {
  *os << m.name;
}

const std::vector<Malformed> malformed_specs = {
    // The document
    {"TruncatedJson",
     R"({"version": 1, "entities": {)",
     {"not valid JSON: parse error at line 1, column 29"}},
    {"TruncatedJsonOnLaterLine",
     "{\n  \"version\": 1,\n  \"entities\": {\n    \"root\": {\"profile\": ",
     {"not valid JSON: parse error at line 4", "(byte "}},
    {"TrailingGarbage", spec_of({root}) + " x", {"not valid JSON: parse error at line 1"}},
    {"EmptyFile", "", {"not valid JSON: parse error at line 1, column 1"}},
    {"TopLevelArray", "[1, 2]", {"top level: expected an object, got an array"}},
    {"MissingVersion",
     R"({"entities": {"root": {"profile": "root"}}})",
     {"/version: missing; expected 1"}},
    {"VersionTwo",
     R"({"version": 2, "entities": {"root": {"profile": "root"}}})",
     {"/version: expected 1, got 2"}},
    {"VersionAsString",
     R"({"version": "1", "entities": {"root": {"profile": "root"}}})",
     {R"(/version: expected 1, got "1")"}},
    {"VersionBeyondInt64",
     R"({"version": 18446744073709551615, "entities": {"root": {"profile": "root"}}})",
     {"/version: expected 1, got 18446744073709551615"}},
    {"UnknownTopLevelKey",
     R"({"version": 1, "entitys": {"root": {"profile": "root"}}})",
     {R"(/entitys: unknown key (did you mean "entities"?); expected one of version, description)"}},
    {"MissingEntities",
     R"({"version": 1})",
     {"/entities: missing; expected an object of entities"}},
    {"EmptyEntities",
     R"({"version": 1, "entities": {}})",
     {"/entities: expected at least one entity"}},
    {"EntitiesNotAnObject",
     R"({"version": 1, "entities": ["root"]})",
     {"/entities: expected an object, got an array"}},
    {"EntityNotAnObject",
     R"({"version": 1, "entities": {"root": "root"}})",
     {"/entities/root: expected an object, got a string"}},
    {"DuplicateKey",
     R"({"version": 1, "entities": {"root": {"profile": "root", "profile": "server"}}})",
     {"/entities/root/profile: duplicate key"}},
    {"DuplicateEntity",
     R"({"version": 1, "entities": {"root": {"profile": "root"}, "root": {"profile": "root"}}})",
     {"/entities/root: duplicate key"}},
    {"EntityNameWithSlash",
     R"({"version": 1, "entities": {"a/b": {"profile": "root"}}})",
     {"/entities/a~1b: expected an entity name of 1 to 64 letters, digits", R"(got "a/b")"}},
    {"EntityNameStartingWithDot",
     R"({"version": 1, "entities": {".hidden": {"profile": "root"}}})",
     {"/entities/.hidden: expected an entity name", "not starting with '.'"}},
    {"UnknownDefaultsKey",
     R"({"version": 1, "defaults": {"keys": "ec-p256"}, "entities": {"root": {"profile": "root"}}})",
     {R"(/defaults/keys: unknown key (did you mean "key"?))"}},
    {"ServerNameInjectsSubject",
     R"({"version": 1, "server_name": "a/CN=b", "entities": {"root": {"profile": "root"}}})",
     {"/server_name: expected a host name", R"(got "a/CN=b")"}},
    {"EmptyServerName",
     R"({"version": 1, "server_name": "", "entities": {"root": {"profile": "root"}}})",
     {"/server_name: expected a host name"}},

    // Entity keys and references
    {"EntityKeyTypo",
     spec_of({root, intermediate, R"("server": {"profile": "server", "isuer": "intermediate"})"}),
     {R"(/entities/server/isuer: unknown key (did you mean "issuer"?); expected one of description, profile, from, issuer)"}},
    {"MissingProfile",
     spec_of({R"("root": {"subject": "/CN=x"})"}),
     {"/entities/root/profile: missing; expected one of root, intermediate, server, client"}},
    {"UnknownProfile",
     spec_of({R"("root": {"profile": "rot"})"}),
     {R"(/entities/root/profile: expected one of root, intermediate, server, client, got "rot" (did you mean "root"?))"}},
    {"ProfileNotAString",
     spec_of({R"("root": {"profile": 3})"}),
     {"/entities/root/profile: expected a string, got an integer"}},
    {"RootWithIssuer",
     spec_of({root, R"("root2": {"profile": "root", "issuer": "root"})"}),
     {R"(/entities/root2/issuer: expected no "issuer": a root is self-signed)"}},
    {"LeafWithoutIssuer",
     spec_of({root, R"("server": {"profile": "server"})"}),
     {"/entities/server/issuer: missing; expected the name of the CA (root or intermediate) that "
      "issues this server certificate"}},
    {"IssuerIsMissingEntity",
     spec_of({root, intermediate, R"("server": {"profile": "server", "issuer": "intermediat"})"}),
     {R"(/entities/server/issuer: expected the name of an entity under /entities, got "intermediat" (did you mean "intermediate"?))"}},
    {"IssuerIsItself",
     spec_of({root, R"("ca": {"profile": "intermediate", "issuer": "ca"})"}),
     {R"(/entities/ca/issuer: expected the name of another entity, got "ca" itself)"}},
    {"IssuerIsLeaf",
     spec_of(
         {root, intermediate, server(), R"("client": {"profile": "client", "issuer": "server"})"}),
     {R"(/entities/client/issuer: expected a CA (root or intermediate), but "server" is a server certificate)"}},
    {"DanglingIssuerBesideSelfSigned",
     spec_of({root,
              R"("server": {"profile": "server", "issuer": "nope", "defects": ["self_signed"]})"}),
     {R"(/entities/server/issuer: expected the name of an entity under /entities, got "nope")"}},
    {"FromIsMissingEntity",
     spec_of({root, intermediate, server(), R"("server2": {"from": "srever"})"}),
     {R"(/entities/server2/from: expected the name of an entity under /entities, got "srever" (did you mean "server"?))"}},
    {"DerivationCycle",
     spec_of({root, R"("a": {"from": "b"})", R"("b": {"from": "a"})"}),
     {"/entities/b/from: derivation cycle: a -> b -> a"}},
    {"IssuerCycle",
     spec_of({root, R"("a": {"profile": "intermediate", "issuer": "b"})",
              R"("b": {"profile": "intermediate", "issuer": "a"})"}),
     {"/entities/b/issuer: issuer cycle: a -(issuer)-> b -(issuer)-> a",
      "expected every issuer chain to end at a root"}},

    // Defects
    {"UnknownDefect",
     server_with(R"("defects": ["expird"])"),
     {R"(/entities/server/defects/0: expected a defect name (`tlsmatrix pki defects` lists them), got "expird" (did you mean "expired"?))"}},
    {"DefectOnWrongProfile",
     server_with(R"("defects": ["expired_root"])"),
     {R"(/entities/server/defects/0: defect "expired_root" applies to root certificates, not to this server certificate)"}},
    {"DuplicateDefect",
     server_with(R"("defects": ["expired", "expired"])"),
     {R"(/entities/server/defects/1: defect "expired" is listed twice)"}},
    {"DefectsNotAnArray",
     server_with(R"("defects": "expired")"),
     {"/entities/server/defects: expected an array of strings, got a string"}},
    {"DefectNotAString",
     server_with(R"("defects": [7])"),
     {"/entities/server/defects/0: expected a string, got an integer"}},
    {"UntrustedRootDefectWithTrustedChain",
     server_with(R"("defects": ["untrusted_root"])"),
     {R"(/entities/server/defects/0: untrusted_root needs an issuer chain ending at a root with "trusted": false)"}},

    // Keys and digests
    {"UnknownKeyType",
     server_with(R"("key": "rsa-512")"),
     {R"(/entities/server/key: expected one of rsa-2048, rsa-3072, rsa-4096, ec-p256)",
      R"(got "rsa-512")"}},
    {"Rsa1024AsKey",
     server_with(R"("key": "rsa-1024")"),
     {"/entities/server/key: expected one of", R"(add "weak_key_rsa1024" to "defects" instead)"}},
    {"Rsa1024AsDefaultKey",
     R"({"version": 1, "defaults": {"key": "rsa-1024"}, "entities": {"root": {"profile": "root"}}})",
     {"/defaults/key: expected one of", "weak_key_rsa1024"}},
    {"UnknownDigest",
     server_with(R"("digest": "sha3")"),
     {R"(/entities/server/digest: expected one of sha256, sha384, sha512, sha1, md5, got "sha3")"}},
    {"Md5WithEcIssuer",
     server_with(R"("digest": "md5")"),
     {R"(/entities/server/digest: an MD5 signature needs an RSA issuer key, but "intermediate" has key type ec-p256)"}},
    {"Md5DefectWithEcIssuer",
     server_with(R"("defects": ["md5_signature"])"),
     {"/entities/server/defects/0: an MD5 signature needs an RSA issuer key"}},

    // Names
    {"SubjectWithoutLeadingSlash",
     server_with(R"("subject": "CN=x")"),
     {R"(/entities/server/subject: expected the form /O=Org/CN=name)", R"(got "CN=x")"}},
    {"SubjectUnknownAttribute",
     server_with(R"("subject": "/XX=x")"),
     {R"(/entities/server/subject: unknown attribute "XX"; expected the form /O=Org/CN=name)"}},
    {"SubjectCountryTooLong",
     server_with(R"("subject": "/C=USA/CN=x")"),
     {R"(/entities/server/subject: expected C to have 2 characters, got "USA")"}},
    {"SubjectEmptyCommonName",
     server_with(R"("subject": "/O=x/CN=")"),
     {R"(/entities/server/subject: expected CN to have 1 to 64 characters, got "")"}},
    {"SanUnknownType",
     server_with(R"("san": ["DNS:localhost", "FOO:x"])"),
     {R"(/entities/server/san/1: expected a name such as DNS:localhost)",
      R"(unknown name type "FOO")"}},
    {"SanBadIp",
     server_with(R"("san": ["IP:300.1.1.1"])"),
     {R"(/entities/server/san/0: expected a name such as)",
      R"("300.1.1.1" is not an IPv4 or IPv6 address)"}},
    {"SanNotAnArray",
     server_with(R"("san": "DNS:localhost")"),
     {"/entities/server/san: expected an array of strings, got a string"}},
    {"NameConstraintIpWithoutPrefix",
     spec_of(
         {root,
          R"("intermediate": {"profile": "intermediate", "issuer": "root", "name_constraints": {"permitted": ["IP:10.0.0.0"]}})"}),
     {R"(/entities/intermediate/name_constraints/permitted/0: expected a name constraint such as DNS:example.com or IP:10.0.0.0/8, got "IP:10.0.0.0")"}},

    // Validity, serial, version
    {"ValidityBadOffset",
     server_with(R"("validity": {"not_after": "-30x"})"),
     {R"(/entities/server/validity/not_after: expected a time: "now", an offset such as "-30d")",
      R"(got "-30x")"}},
    {"ValidityNotAfterBeforeNotBefore",
     server_with(R"("validity": {"not_before": "+10d", "not_after": "+1d"})"),
     {"/entities/server/validity/not_after: expected not_after at or after not_before"}},
    {"ValidityNotAfterBeforeDefaultNotBefore",
     server_with(R"("validity": {"not_after": "-5d"})"),
     {"/entities/server/validity/not_after: expected not_after at or after not_before",
      "profile's default: set both"}},
    {"ValidityBeyondYear9999",
     server_with(R"("validity": {"not_after": "+10000y"})"),
     {R"(/entities/server/validity/not_after: expected a time from year 0000 to 9999)"}},
    {"SerialNotHex",
     server_with(R"("serial": "xyz1")"),
     {R"(/entities/server/serial: expected a serial number as an even number of hex digits, got "xyz1")"}},
    {"SerialTooLong",
     server_with(R"("serial": "0102030405060708090a0b0c0d0e0f101112131415")"),
     {"/entities/server/serial: expected at most 20 bytes (RFC 5280 §4.1.2.2), got 21"}},
    {"SerialZero",
     server_with(R"("serial": "0000")"),
     {"/entities/server/serial: expected a positive serial number, got zero"}},
    {"CertificateVersionTwo",
     server_with(R"("version": 2)"),
     {"/entities/server/version: expected 1 or 3, got 2"}},
    {"VersionOneLeaf",
     server_with(R"("version": 1)"),
     {"/entities/server/version: expected version 3 on a server certificate"}},

    // Extensions
    {"UnknownKeyUsage",
     server_with(R"("key_usage": {"usages": ["digitalSignature", "digitalSig"]})"),
     {R"(/entities/server/key_usage/usages/1: expected one of digitalSignature, nonRepudiation)",
      R"(got "digitalSig")"}},
    {"KeyUsageMissingUsages",
     server_with(R"("key_usage": {"critical": true})"),
     {"/entities/server/key_usage/usages: missing; expected an array of digitalSignature"}},
    {"UnknownExtendedKeyUsage",
     server_with(R"("extended_key_usage": {"purposes": ["serverauth"]})"),
     {R"(/entities/server/extended_key_usage/purposes/0: expected one of serverAuth, clientAuth)",
      R"((did you mean "serverAuth"?))"}},
    {"ExtendedKeyUsageOidFirstArcTooLarge",
     server_with(R"("extended_key_usage": {"purposes": ["3.1"]})"),
     {R"(/entities/server/extended_key_usage/purposes/0: expected one of serverAuth)",
      R"(or a dotted OID, got "3.1")"}},
    {"BasicConstraintsNotAnObject",
     server_with(R"("basic_constraints": true)"),
     {"/entities/server/basic_constraints: expected an object such as",
      "or null for no extension, got a boolean"}},
    {"BasicConstraintsCaAsString",
     server_with(R"("basic_constraints": {"ca": "true"})"),
     {"/entities/server/basic_constraints/ca: expected true or false, got a string"}},
    {"PathLenNegative",
     spec_of(
         {root,
          R"("intermediate": {"profile": "intermediate", "issuer": "root", "basic_constraints": {"ca": true, "path_len": -1}})"}),
     {"/entities/intermediate/basic_constraints/path_len: expected an integer from 0 to 255, got "
      "-1"}},
    {"ExtensionBadOid",
     server_with(R"("extensions": [{"oid": "1.2.x", "der": "0500"}])"),
     {R"(/entities/server/extensions/0/oid: expected a dotted OID such as 1.3.6.1.4.1.99999.1, got "1.2.x")"}},
    {"ExtensionMissingDer",
     server_with(R"("extensions": [{"oid": "1.2.3.4"}])"),
     {"/entities/server/extensions/0/der: missing; expected the extension value as hex DER"}},
    {"SubjectKeyIdentifierAsString",
     server_with(R"("subject_key_identifier": "yes")"),
     {"/entities/server/subject_key_identifier: expected true or false, got a string"}},
    {"CrlDistributionPointNotUrl",
     server_with(R"("crl_distribution_points": ["crl.example"])"),
     {R"(/entities/server/crl_distribution_points/0: expected a URL such as http://crl.example/ca.crl, got "crl.example")"}},

    // Trust, revocation, CRLs
    {"TrustedOnNonRoot",
     spec_of({root,
              R"("intermediate": {"profile": "intermediate", "issuer": "root", "trusted": true})"}),
     {R"(/entities/intermediate/trusted: expected no "trusted" on an intermediate certificate: only a root can be a trust anchor)"}},
    {"TrustedAsString",
     spec_of({R"("root": {"profile": "root", "trusted": "false"})"}),
     {"/entities/root/trusted: expected true or false, got a string"}},
    {"UnknownRevocationReason",
     server_with(R"("revocation": {"reason": "stolen"})"),
     {R"(/entities/server/revocation/reason: expected one of unspecified, keyCompromise)",
      R"(got "stolen")"}},
    {"CrlOnLeaf",
     server_with(R"("crl": {"number": 2})"),
     {R"(/entities/server/crl: expected no "crl" on a server certificate: only CAs (root, intermediate) issue CRLs)"}},
    {"CrlNextUpdateBeforeThisUpdate",
     spec_of(
         {R"("root": {"profile": "root", "crl": {"this_update": "-1d", "next_update": "-2d"}})"}),
     {"/entities/root/crl/next_update: expected next_update at or after this_update"}},
};

class MalformedSpec : public testing::TestWithParam<Malformed> {};

TEST_P(MalformedSpec, ExitsTwoNamingFileAndPointerAndWritesNothing) {
  const Malformed& m = GetParam();
  const ScratchDir dir;
  const fs::path spec = dir / "spec.json";
  const fs::path out = dir / "out";
  testing_support::write_text(spec, m.json);

  const auto r = run({tlsmatrix_binary(), "pki", "generate", "--spec", spec.string(), "--out",
                      out.string(), "--now", "2026-01-31T00:00:00Z", "--seed", "malformed"},
                     {}, std::chrono::seconds(20));

  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(spec.string() + ": "), std::string::npos) << "the message names the file:\n"
                                                                 << r.err;
  for (const auto& fragment : m.fragments)
    EXPECT_NE(r.err.find(fragment), std::string::npos) << "expected \"" << fragment << "\" in:\n"
                                                       << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(fs::exists(out)) << "nothing is written";
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    left.push_back(entry.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"spec.json"})
      << "no temporary directories are left behind";
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedSpec, testing::ValuesIn(malformed_specs),
                         [](const testing::TestParamInfo<Malformed>& param) {
                           return param.param.name;
                         });

// The cases above fail for their own reason, not because the PKI they vary is broken.
TEST(MalformedSpecTable, BasePkiIsValid) {
  const auto now = *pki::parse_time("2026-01-31T00:00:00Z", {});
  for (const auto& text :
       {spec_of({root, intermediate, server(), client}), server_with(R"("key": "rsa-2048")"),
        server_with(R"("defects": ["expired"])")})
    EXPECT_NO_THROW((void)pki::parse_spec(text, "base.json", now)) << text;
}

TEST(MalformedSpecTable, HasAtLeastTwentyFiveUniquelyNamedCases) {
  std::set<std::string> names;
  for (const auto& m : malformed_specs) {
    EXPECT_TRUE(names.insert(m.name).second) << m.name;
    EXPECT_FALSE(m.fragments.empty()) << m.name;
  }
  EXPECT_GE(names.size(), 25u);
}

// The library throws the same message as Error(invalid_input), which main maps to exit code 2.
TEST(SpecErrors, AreInvalidInputNamingOriginAndPointer) {
  try {
    (void)pki::parse_spec(server_with(R"("key": "ec-p257")"), "my.json", pki::TimePoint{});
    FAIL() << "accepted";
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input);
    EXPECT_EQ(std::string(e.what()).rfind("my.json: /entities/server/key: expected one of ", 0), 0u)
        << e.what();
    EXPECT_EQ(tlsmatrix::exit_code(e.code()), 2);
  }
}

// ---------------------------------------------------------------------------------------------
// Resolution: order, derivation, profile defaults, defects

const pki::TimePoint now = *pki::parse_time("2026-06-15T12:00:00Z", {});

pki::Spec parse(const std::string& text) {
  return pki::parse_spec(text, "test.json", now);
}

std::size_t index_of(const pki::Spec& spec, const std::string& name) {
  for (std::size_t i = 0; i < spec.entities.size(); ++i)
    if (spec.entities[i].name == name)
      return i;
  ADD_FAILURE() << "no entity " << name;
  return spec.entities.size();
}

TEST(SpecResolution, IssuersComeBeforeTheEntitiesTheyIssue) {
  // Names sort opposite to the issuing order, so sorting by name alone would get it wrong.
  const auto spec = parse(spec_of({R"("z_root": {"profile": "root"})",
                                   R"("m_ca": {"profile": "intermediate", "issuer": "z_root"})",
                                   R"("b_sub": {"profile": "intermediate", "issuer": "m_ca"})",
                                   R"("a_leaf": {"profile": "server", "issuer": "b_sub"})",
                                   R"("0_twin": {"from": "a_leaf"})"}));
  ASSERT_EQ(spec.entities.size(), 5u);
  EXPECT_LT(index_of(spec, "z_root"), index_of(spec, "m_ca"));
  EXPECT_LT(index_of(spec, "m_ca"), index_of(spec, "b_sub"));
  EXPECT_LT(index_of(spec, "b_sub"), index_of(spec, "a_leaf"));
  EXPECT_LT(index_of(spec, "a_leaf"), index_of(spec, "0_twin"))
      << "a derived entity follows its base";

  const auto def = pki::default_spec(now);
  for (std::size_t i = 0; i < def.entities.size(); ++i) {
    const auto& e = def.entities[i];
    if (e.issuer) {
      EXPECT_LT(index_of(def, *e.issuer), i) << e.name;
    }
    if (e.key_from) {
      EXPECT_LT(index_of(def, *e.key_from), i) << e.name;
    }
  }
}

TEST(SpecResolution, ChainOfWalksUpToTheRoot) {
  const auto spec = parse(spec_of({root, intermediate, server()}));
  std::vector<std::string> names;
  for (const auto* e : spec.chain_of("server"))
    names.push_back(e->name);
  EXPECT_EQ(names, (std::vector<std::string>{"server", "intermediate", "root"}));
  EXPECT_EQ(spec.find("nope"), nullptr);
  EXPECT_THROW((void)spec.at("nope"), tlsmatrix::Error);
}

TEST(SpecResolution, FromCopiesFieldsAndOwnFieldsOverride) {
  const auto spec = parse(
      spec_of({root, intermediate,
               R"("base": {"profile": "server", "issuer": "intermediate", "description": "the base",
                   "subject": "/O=Base/CN=base.test", "san": ["DNS:base.test"], "digest": "sha384",
                   "key": "ec-p384", "validity": {"not_before": "-2d", "not_after": "+20d"},
                   "crl_distribution_points": ["http://crl.test/ca.crl"]})",
               R"("derived": {"from": "base", "san": ["DNS:derived.test"], "digest": "sha512"})"}));
  const auto& base = spec.at("base");
  const auto& derived = spec.at("derived");
  EXPECT_EQ(derived.profile, pki::Profile::server);
  EXPECT_EQ(derived.issuer, std::optional<std::string>("intermediate"));
  EXPECT_EQ(derived.cert.subject, "/O=Base/CN=base.test");
  EXPECT_EQ(derived.key_type, pki::KeyType::p384);
  EXPECT_EQ(derived.cert.not_before, base.cert.not_before);
  EXPECT_EQ(derived.cert.not_after, now + std::chrono::days(20));
  EXPECT_EQ(derived.cert.crl_distribution_points, base.cert.crl_distribution_points);
  EXPECT_EQ(derived.cert.subject_alt_names, std::vector<std::string>{"DNS:derived.test"})
      << "own field wins";
  EXPECT_EQ(derived.cert.digest, "sha512") << "own field wins";
  EXPECT_EQ(base.cert.digest, "sha384") << "the base is untouched";
  EXPECT_EQ(base.description, "the base");
  EXPECT_EQ(derived.description, "") << "a description belongs to its entity";
  EXPECT_TRUE(derived.defects.empty());
}

TEST(SpecResolution, DerivationChainsMerge) {
  const auto spec = parse(spec_of({root, intermediate, server(R"("digest": "sha384")"),
                                   R"("s1": {"from": "server", "subject": "/CN=s1"})",
                                   R"("s2": {"from": "s1", "defects": ["expired"]})"}));
  const auto& s2 = spec.at("s2");
  EXPECT_EQ(s2.cert.digest, "sha384");
  EXPECT_EQ(s2.cert.subject, "/CN=s1");
  EXPECT_EQ(s2.key_from, std::optional<std::string>("server"))
      << "the key comes from the first owner";
  EXPECT_EQ(s2.defects, std::vector<std::string>{"expired"});
}

TEST(SpecResolution, DerivedLeafSharesItsBaseKeyButDerivedCaDoesNot) {
  const auto spec =
      parse(spec_of({root, intermediate, server(), R"("server_twin": {"from": "server"})",
                     R"("server_p384": {"from": "server", "key": "ec-p384"})",
                     R"("ca_twin": {"from": "intermediate"})"}));
  EXPECT_EQ(spec.at("server").key_from, std::nullopt);
  EXPECT_EQ(spec.at("server_twin").key_from, std::optional<std::string>("server"));
  EXPECT_EQ(spec.at("server_p384").key_from, std::nullopt)
      << "another key type cannot share the key";
  EXPECT_EQ(spec.at("ca_twin").key_from, std::nullopt)
      << "a CA twin with the same key would let a verifier chain through the wrong twin";

  const auto def = pki::default_spec(now);
  EXPECT_EQ(def.at("server_expired").key_from, std::optional<std::string>("server"));
  EXPECT_EQ(def.at("intermediate_expired").key_from, std::nullopt);
}

TEST(SpecResolution, DefaultsApplyToEveryEntity) {
  const auto spec = parse(R"({"version": 1, "defaults": {"key": "rsa-3072", "digest": "sha512"},
                              "entities": {"root": {"profile": "root"},
                                           "ca": {"profile": "intermediate", "issuer": "root", "key": "ec-p256"}}})");
  EXPECT_EQ(spec.at("root").key_type, pki::KeyType::rsa3072);
  EXPECT_EQ(spec.at("root").cert.digest, "sha512");
  EXPECT_EQ(spec.at("root").crl->digest, "sha512");
  EXPECT_EQ(spec.at("ca").key_type, pki::KeyType::p256);
}

TEST(SpecProfiles, ServerDefaults) {
  const auto spec = parse(spec_of(
      {root, intermediate, server(), R"("server_rsa": {"from": "server", "key": "rsa-2048"})"}));
  const auto& s = spec.at("server");
  EXPECT_EQ(s.key_type, pki::KeyType::p256);
  EXPECT_EQ(s.cert.subject, "/O=tlsmatrix/CN=localhost");
  EXPECT_EQ(s.cert.subject_alt_names,
            (std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:::1"}));
  ASSERT_TRUE(s.cert.extended_key_usage);
  EXPECT_EQ(s.cert.extended_key_usage->purposes, std::vector<std::string>{"serverAuth"});
  EXPECT_FALSE(s.cert.extended_key_usage->critical);
  ASSERT_TRUE(s.cert.key_usage);
  EXPECT_EQ(s.cert.key_usage->usages, std::vector<std::string>{"digitalSignature"});
  EXPECT_TRUE(s.cert.key_usage->critical);
  ASSERT_TRUE(s.cert.basic_constraints);
  EXPECT_FALSE(s.cert.basic_constraints->ca);
  EXPECT_EQ(s.cert.version, 3);
  EXPECT_EQ(s.cert.not_before, now - std::chrono::days(1));
  EXPECT_EQ(s.cert.not_after, now + std::chrono::days(365));
  EXPECT_FALSE(s.trusted);
  EXPECT_FALSE(s.crl);

  const auto& rsa = spec.at("server_rsa");
  ASSERT_TRUE(rsa.cert.key_usage);
  EXPECT_EQ(rsa.cert.key_usage->usages,
            (std::vector<std::string>{"digitalSignature", "keyEncipherment"}))
      << "TLS 1.2 RSA key exchange encrypts to the server key";
}

TEST(SpecProfiles, ServerNameSetsSanAndCn) {
  const auto spec = parse(R"({"version": 1, "server_name": "tls.test",
                              "entities": {"root": {"profile": "root"},
                                           "server": {"profile": "server", "issuer": "root"}}})");
  EXPECT_EQ(spec.server_name, "tls.test");
  EXPECT_EQ(spec.at("server").cert.subject, "/O=tlsmatrix/CN=tls.test");
  EXPECT_EQ(spec.at("server").cert.subject_alt_names[0], "DNS:tls.test");
}

TEST(SpecProfiles, ClientDefaults) {
  const auto spec = parse(spec_of({root, intermediate, client}));
  const auto& c = spec.at("client");
  EXPECT_EQ(c.cert.subject, "/O=tlsmatrix/CN=client");
  EXPECT_TRUE(c.cert.subject_alt_names.empty());
  ASSERT_TRUE(c.cert.extended_key_usage);
  EXPECT_EQ(c.cert.extended_key_usage->purposes, std::vector<std::string>{"clientAuth"});
  ASSERT_TRUE(c.cert.key_usage);
  EXPECT_EQ(c.cert.key_usage->usages, std::vector<std::string>{"digitalSignature"});
}

TEST(SpecProfiles, RootAndIntermediateDefaults) {
  const auto spec = parse(spec_of({root, intermediate}));
  for (const char* name : {"root", "intermediate"}) {
    const auto& ca = spec.at(name);
    ASSERT_TRUE(ca.cert.basic_constraints) << name;
    EXPECT_TRUE(ca.cert.basic_constraints->ca) << name;
    EXPECT_TRUE(ca.cert.basic_constraints->critical) << name;
    EXPECT_FALSE(ca.cert.basic_constraints->path_len) << name;
    ASSERT_TRUE(ca.cert.key_usage) << name;
    EXPECT_EQ(ca.cert.key_usage->usages, (std::vector<std::string>{"keyCertSign", "cRLSign"}))
        << name;
    EXPECT_TRUE(ca.cert.key_usage->critical) << name;
    EXPECT_FALSE(ca.cert.extended_key_usage) << name;
    EXPECT_TRUE(ca.cert.subject_alt_names.empty()) << name;
    ASSERT_TRUE(ca.crl) << name;
    EXPECT_EQ(ca.crl->number, 1u) << name;
    EXPECT_LT(ca.crl->this_update, now) << name;
    EXPECT_GT(ca.crl->next_update, now) << name;
  }
  EXPECT_EQ(spec.at("root").issuer, std::nullopt);
  EXPECT_TRUE(spec.at("root").trusted);
  EXPECT_EQ(spec.at("root").cert.not_after, now + std::chrono::days(3650));
  EXPECT_EQ(spec.at("intermediate").issuer, std::optional<std::string>("root"));
  EXPECT_FALSE(spec.at("intermediate").trusted);
}

TEST(SpecProfiles, NullRemovesAnExtension) {
  const auto spec = parse(
      server_with(R"("key_usage": null, "extended_key_usage": null, "basic_constraints": null)"));
  const auto& s = spec.at("server");
  EXPECT_FALSE(s.cert.key_usage);
  EXPECT_FALSE(s.cert.extended_key_usage);
  EXPECT_FALSE(s.cert.basic_constraints);
}

// The fields of a plan a defect may change, by name; everything a defect must leave alone too.
std::set<std::string> differences(const pki::EntityPlan& a, const pki::EntityPlan& b) {
  std::set<std::string> out;
  auto diff = [&](const char* name, const auto& x, const auto& y) {
    if (!(x == y))
      out.insert(name);
  };
  auto bc = [](const auto& o) {
    return o ? std::optional(std::tuple(o->ca, o->path_len, o->critical)) : std::nullopt;
  };
  auto ku = [](const auto& o) {
    return o ? std::optional(std::tuple(o->usages, o->critical)) : std::nullopt;
  };
  auto eku = [](const auto& o) {
    return o ? std::optional(std::tuple(o->purposes, o->critical)) : std::nullopt;
  };
  auto nc = [](const auto& o) {
    return o ? std::optional(std::tuple(o->permitted, o->excluded, o->critical)) : std::nullopt;
  };
  auto ext = [](const std::vector<pki::RawExtension>& v) {
    std::vector<std::tuple<std::string, bool, pki::Bytes>> all;
    for (const auto& e : v)
      all.emplace_back(e.oid, e.critical, e.der);
    return all;
  };
  auto rev = [](const auto& o) {
    return o ? std::optional(std::tuple(o->date, o->reason)) : std::nullopt;
  };
  auto crl = [](const auto& o) {
    return o ? std::optional(std::tuple(o->this_update, o->next_update, o->number, o->digest))
             : std::nullopt;
  };
  diff("profile", a.profile, b.profile);
  diff("issuer", a.issuer, b.issuer);
  diff("key_type", a.key_type, b.key_type);
  diff("key_from", a.key_from, b.key_from);
  diff("trusted", a.trusted, b.trusted);
  diff("serial_given", a.serial_given, b.serial_given);
  diff("revocation", rev(a.revocation), rev(b.revocation));
  diff("crl", crl(a.crl), crl(b.crl));
  diff("mismatched_key", a.mismatched_key, b.mismatched_key);
  const auto &x = a.cert, &y = b.cert;
  diff("version", x.version, y.version);
  diff("subject", x.subject, y.subject);
  diff("san", x.subject_alt_names, y.subject_alt_names);
  diff("serial", x.serial, y.serial);
  diff("not_before", x.not_before, y.not_before);
  diff("not_after", x.not_after, y.not_after);
  diff("digest", x.digest, y.digest);
  diff("basic_constraints", bc(x.basic_constraints), bc(y.basic_constraints));
  diff("key_usage", ku(x.key_usage), ku(y.key_usage));
  diff("extended_key_usage", eku(x.extended_key_usage), eku(y.extended_key_usage));
  diff("name_constraints", nc(x.name_constraints), nc(y.name_constraints));
  diff("subject_key_identifier", x.subject_key_identifier, y.subject_key_identifier);
  diff("authority_key_identifier", x.authority_key_identifier, y.authority_key_identifier);
  diff("crl_distribution_points", x.crl_distribution_points, y.crl_distribution_points);
  diff("ocsp_urls", x.ocsp_urls, y.ocsp_urls);
  diff("ca_issuer_urls", x.ca_issuer_urls, y.ca_issuer_urls);
  diff("extensions", ext(x.extra_extensions), ext(y.extra_extensions));
  diff("corrupt_signature", x.corrupt_signature, y.corrupt_signature);
  return out;
}

// What each defect changes in a plan, compared with a defect-free twin derived from the same base.
// A defect added to the catalog fails DefectTransformations.EveryDefectChangesOnlyItsFields until
// it has a row here.
const std::map<std::string, std::set<std::string>> defect_changes = {
    {"expired", {"not_before", "not_after"}},
    {"not_yet_valid", {"not_before"}}, // notAfter now + 1y is the server profile's default too
    {"expired_intermediate", {"not_before", "not_after"}},
    {"expired_root", {"not_before", "not_after"}},
    {"untrusted_root", {}}, // the chain makes it: the issuer is an untrusted root either way
    {"self_signed", {"issuer"}},
    {"hostname_mismatch", {"san", "subject"}},
    {"cn_only_no_san", {"san"}}, // the CN already is the server name
    {"wrong_eku", {"extended_key_usage"}},
    {"leaf_is_ca", {"basic_constraints"}},
    {"issuer_not_ca", {"basic_constraints"}},
    {"issuer_no_basic_constraints", {"basic_constraints"}},
    {"issuer_no_keycertsign", {"key_usage"}},
    {"pathlen_exceeded", {"basic_constraints"}},
    {"bad_signature", {"corrupt_signature"}},
    {"weak_key_rsa1024", {"key_type", "key_from", "key_usage"}}, // + keyEncipherment for RSA
    {"sha1_signature", {"digest"}},
    {"md5_signature", {"digest"}},
    {"unknown_critical_extension", {"extensions"}},
    {"revoked", {"revocation"}},
    {"name_constraints_violation", {"name_constraints"}},
    {"v1_issuer",
     {"version", "basic_constraints", "key_usage", "subject_key_identifier",
      "authority_key_identifier"}},
    {"key_mismatch", {"mismatched_key"}},
    {"expired_crl", {"crl"}},
};

// One base per profile, plus the special bases two defects need.
std::string base_for(const pki::DefectInfo& d) {
  if (d.name == "md5_signature")
    return "server_rsa"; // MD5 needs an RSA issuer
  if (d.name == "untrusted_root")
    return "server_untrusted"; // issued by an untrusted root
  switch (d.applies_to.front()) {
  case pki::Profile::root:
    return "root";
  case pki::Profile::intermediate:
    return "intermediate";
  case pki::Profile::server:
    return "server";
  case pki::Profile::client:
    return "client";
  case pki::Profile::invalid:
    break;
  }
  return "?";
}

// Every catalog defect on a twin of its base, next to a defect-free twin of the same base.
pki::Spec defect_spec() {
  // Explicit subjects: the default one of a CA or client is built from the entity's own name.
  std::vector<std::string> entities = {
      R"("root": {"profile": "root", "subject": "/O=t/CN=Root"})",
      R"("intermediate": {"profile": "intermediate", "issuer": "root", "subject": "/O=t/CN=Intermediate"})",
      server(),
      R"("client": {"profile": "client", "issuer": "intermediate", "subject": "/O=t/CN=Client"})",
      R"("rsa_intermediate": {"profile": "intermediate", "issuer": "root", "key": "rsa-2048"})",
      R"("server_rsa": {"profile": "server", "issuer": "rsa_intermediate", "key": "rsa-2048"})",
      R"("untrusted": {"profile": "root", "trusted": false})",
      R"("server_untrusted": {"profile": "server", "issuer": "untrusted"})"};
  for (const char* base :
       {"root", "intermediate", "server", "client", "server_rsa", "server_untrusted"})
    entities.push_back("\"" + std::string(base) + "_twin\": {\"from\": \"" + base + "\"}");
  for (const auto& d : pki::defect_catalog())
    entities.push_back("\"d_" + std::string(d.name) + "\": {\"from\": \"" + base_for(d) +
                       "\", \"defects\": [\"" + std::string(d.name) + "\"]}");
  return parse(spec_of(entities));
}

TEST(DefectTransformations, EveryDefectChangesOnlyItsFields) {
  const auto spec = defect_spec();
  for (const auto& d : pki::defect_catalog()) {
    const std::string name(d.name);
    const auto expected = defect_changes.find(name);
    if (expected == defect_changes.end()) {
      ADD_FAILURE() << "defect " << name << " has no row in defect_changes";
      continue;
    }
    const auto& broken = spec.at("d_" + name);
    EXPECT_EQ(broken.defects, std::vector<std::string>{name});
    EXPECT_EQ(differences(spec.at(base_for(d) + "_twin"), broken), expected->second) << name;
  }
  EXPECT_EQ(defect_changes.size(), pki::defect_catalog().size())
      << "rows for defects no longer in the catalog";
}

TEST(DefectTransformations, ValuesTheyChangeTo) {
  const auto spec = defect_spec();
  const auto& expired = spec.at("d_expired").cert;
  EXPECT_EQ(expired.not_before, now - std::chrono::days(60));
  EXPECT_EQ(expired.not_after, now - std::chrono::days(30));
  EXPECT_EQ(spec.at("d_expired_root").cert.not_after, now - std::chrono::days(30));
  EXPECT_EQ(spec.at("d_not_yet_valid").cert.not_before, now + std::chrono::days(30));

  const auto& mismatch = spec.at("d_hostname_mismatch").cert;
  EXPECT_EQ(mismatch.subject_alt_names, std::vector<std::string>{"DNS:wrong.host.invalid"});
  EXPECT_EQ(mismatch.subject, "/O=tlsmatrix/CN=wrong.host.invalid");
  const auto& cn_only = spec.at("d_cn_only_no_san").cert;
  EXPECT_TRUE(cn_only.subject_alt_names.empty());
  EXPECT_EQ(cn_only.subject, "/O=tlsmatrix/CN=localhost");

  EXPECT_EQ(spec.at("d_wrong_eku").cert.extended_key_usage->purposes,
            std::vector<std::string>{"clientAuth"});
  EXPECT_EQ(spec.at("d_self_signed").issuer, std::nullopt);
  EXPECT_TRUE(spec.at("d_leaf_is_ca").cert.basic_constraints->ca);
  EXPECT_FALSE(spec.at("d_issuer_not_ca").cert.basic_constraints->ca);
  EXPECT_FALSE(spec.at("d_issuer_no_basic_constraints").cert.basic_constraints);
  EXPECT_EQ(spec.at("d_pathlen_exceeded").cert.basic_constraints->path_len, std::optional<int>(0));
  const auto& ku = spec.at("d_issuer_no_keycertsign").cert.key_usage->usages;
  EXPECT_EQ(std::find(ku.begin(), ku.end(), "keyCertSign"), ku.end());

  const auto& weak = spec.at("d_weak_key_rsa1024");
  EXPECT_EQ(weak.key_type, pki::KeyType::rsa1024);
  EXPECT_EQ(weak.key_from, std::nullopt) << "an RSA key cannot be the EC twin's key";
  EXPECT_EQ(weak.cert.key_usage->usages,
            (std::vector<std::string>{"digitalSignature", "keyEncipherment"}));

  EXPECT_EQ(spec.at("d_sha1_signature").cert.digest, "sha1");
  EXPECT_EQ(spec.at("d_md5_signature").cert.digest, "md5");
  const auto& ext = spec.at("d_unknown_critical_extension").cert.extra_extensions;
  ASSERT_EQ(ext.size(), 1u);
  EXPECT_TRUE(ext[0].critical);
  ASSERT_TRUE(spec.at("d_revoked").revocation);
  EXPECT_EQ(spec.at("d_revoked").revocation->reason, "keyCompromise");
  EXPECT_LE(spec.at("d_revoked").revocation->date, now);
  EXPECT_EQ(spec.at("d_name_constraints_violation").cert.name_constraints->permitted,
            std::vector<std::string>{"DNS:permitted.invalid"});
  EXPECT_EQ(spec.at("d_v1_issuer").cert.version, 1);
  EXPECT_TRUE(spec.at("d_key_mismatch").mismatched_key);
  EXPECT_LT(spec.at("d_expired_crl").crl->next_update, now);
}

TEST(DefectTransformations, WrongEkuNamesTheOtherSide) {
  const auto spec = parse(spec_of(
      {root, intermediate, client, R"("c": {"from": "client", "defects": ["wrong_eku"]})"}));
  EXPECT_EQ(spec.at("c").cert.extended_key_usage->purposes, std::vector<std::string>{"serverAuth"});
}

TEST(DefectTransformations, DefectOverridesTheFieldsItOwns) {
  // A spec may set validity too; the defect decides, or the certificate would not be expired.
  const auto spec =
      parse(server_with(R"("validity": {"not_after": "+5y"}, "defects": ["expired"])"));
  EXPECT_EQ(spec.at("server").cert.not_after, now - std::chrono::days(30));
}

TEST(DefaultSpec, EmbeddedCopyIsTheShippedFile) {
  EXPECT_EQ(
      std::string(pki::default_spec_json()),
      testing_support::read_text(testing_support::source_dir() / "scenarios/pki/default.json"))
      << "rebuild after editing scenarios/pki/default.json";
}

TEST(DefaultSpec, CarriesEveryCatalogDefect) {
  const auto spec = pki::default_spec(now);
  EXPECT_EQ(spec.origin, "<built-in default spec>");
  std::set<std::string> used;
  for (const auto& e : spec.entities)
    used.insert(e.defects.begin(), e.defects.end());
  for (const auto& d : pki::defect_catalog())
    EXPECT_TRUE(used.contains(std::string(d.name)))
        << "defect " << d.name
        << " is in the catalog but on no entity of scenarios/pki/default.json";
}

TEST(DefaultSpec, EveryEntityHasADescriptionAndAKnownChain) {
  const auto spec = pki::default_spec(now);
  for (const auto& e : spec.entities) {
    EXPECT_FALSE(e.description.empty()) << e.name;
    const auto chain = spec.chain_of(e.name);
    EXPECT_TRUE(chain.back()->profile == pki::Profile::root || e.issuer == std::nullopt) << e.name;
  }
}

} // namespace

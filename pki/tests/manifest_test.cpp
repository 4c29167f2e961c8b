// The manifest reader against manifests the binary wrote (read back with plain nlohmann/json),
// and against manifests that are not ours.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "pki/manifest.hpp"
#include "pki_fixture.hpp"

namespace {

namespace fs = std::filesystem;
using testing_support::default_pki;
using testing_support::ScratchDir;

std::string refusal(const std::string& text) {
  try {
    (void)pki::parse_manifest(text, "dir/manifest.json");
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

TEST(Manifest, ReadsWhatTheWriterWrote) {
  const auto& pki = default_pki();
  const pki::Manifest m = pki::read_manifest(pki.dir);
  EXPECT_EQ(m.file, pki.dir / "manifest.json");
  EXPECT_EQ(m.now, pki.now);
  EXPECT_EQ(m.server_name, pki.manifest.at("server_name").get<std::string>());
  EXPECT_EQ(m.p12_password, pki.manifest.at("p12_password").get<std::string>());
  EXPECT_EQ(m.file_sha256.size(), pki.manifest.at("file_sha256").size());
  ASSERT_EQ(m.entities.size(), pki.entity_names().size());
  const auto ordered =
      nlohmann::ordered_json::parse(testing_support::read_text(pki.dir / "manifest.json"));
  std::vector<std::string> in_file;
  for (const auto& [name, _] : ordered.at("entities").items())
    in_file.push_back(name);
  EXPECT_EQ(m.entity_order, in_file);
  for (const auto& name : pki.entity_names()) {
    const auto& raw = pki.entity(name);
    const auto& e = m.entities.at(name);
    EXPECT_EQ(e.profile, raw.at("profile").get<std::string>()) << name;
    EXPECT_EQ(e.key_type, raw.at("key").at("type").get<std::string>()) << name;
    EXPECT_EQ(e.chain, pki.chain(name)) << name;
    EXPECT_EQ(m.file.parent_path() / e.file("cert"), pki.file(name, "cert")) << name;
    EXPECT_EQ(e.issuer.has_value(), raw.at("issuer").is_string()) << name;
    ASSERT_TRUE(e.expected_verification) << name;
    const auto& v = raw.at("expected_verification");
    EXPECT_EQ(e.expected_verification->openssl_error_name,
              v.at("openssl_error_name").get<std::string>())
        << name;
    EXPECT_EQ(e.expected_verification->reason.has_value(), v.at("reason").is_string()) << name;
  }
}

TEST(Manifest, NamesWhatIsMissingOrWrong) {
  EXPECT_NE(refusal("{").find("dir/manifest.json: not valid JSON"), std::string::npos);
  EXPECT_NE(refusal(R"({"version": 1})").find("not a tlsmatrix manifest: /entities: missing"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"version": 2, "entities": {}})").find("/version: expected 1, got 2"),
            std::string::npos);
  const std::string entity = R"({"version": 1, "entities": {"a": {"profile": "root",
      "key": {"type": "ec-p256"}, "files": {"cert": CERT, "key": "a.key.pem"}}}})";
  auto with_cert = [&](const std::string& cert) {
    std::string text = entity;
    return text.replace(text.find("CERT"), 4, cert);
  };
  EXPECT_NO_THROW((void)pki::parse_manifest(with_cert("\"a.crt.pem\""), "m.json"));
  EXPECT_NE(
      refusal(with_cert("\"../a.crt.pem\"")).find("/entities/a/files/cert: expected the name"),
      std::string::npos);
  EXPECT_NE(refusal(with_cert("null")).find("/entities/a/files/cert"), std::string::npos);
  EXPECT_NE(refusal(with_cert("7")).find("/entities/a/files/cert: expected a string or null"),
            std::string::npos);
}

TEST(Manifest, AMissingDirectorySaysHowToMakeOne) {
  const ScratchDir dir;
  try {
    (void)pki::read_manifest(dir / "none");
    ADD_FAILURE() << "read a manifest that is not there";
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input);
    EXPECT_NE(std::string(e.what()).find("tlsmatrix pki generate --out"), std::string::npos)
        << e.what();
  }
}

} // namespace

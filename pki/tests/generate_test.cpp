// `tlsmatrix pki generate` as a whole: reproducible output, --now, every key type, and a
// directory that is replaced atomically or not at all.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>
#include <string>
#include <vector>

#include "pki_fixture.hpp"

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::default_pki;
using testing_support::issue;
using testing_support::openssl;
using testing_support::read_text;
using testing_support::ScratchDir;
using testing_support::snapshot;
using testing_support::tlsmatrix_generate;

using Snapshot = std::vector<std::pair<std::string, std::string>>;

// Names of the files that differ between two snapshots (or exist in one only).
std::vector<std::string> differing(const Snapshot& a, const Snapshot& b) {
  std::map<std::string, std::string> left(a.begin(), a.end()), right(b.begin(), b.end());
  std::vector<std::string> out;
  for (const auto& [name, bytes] : left)
    if (!right.contains(name) || right.at(name) != bytes)
      out.push_back(name);
  for (const auto& [name, bytes] : right)
    if (!left.contains(name))
      out.push_back(name);
  return out;
}

// A small spec with one of each kind of key the seed must drive: EC, EdDSA and RSA.
json small_spec() {
  return {{"version", 1},
          {"entities",
           {{"root", {{"profile", "root"}, {"subject", "/CN=small root"}}},
            {"server", {{"profile", "server"}, {"issuer", "root"}}},
            {"server_ed25519", {{"profile", "server"}, {"issuer", "root"}, {"key", "ed25519"}}},
            {"server_rsa", {{"profile", "server"}, {"issuer", "root"}, {"key", "rsa-2048"}}}}}};
}

std::vector<std::string> files_ending(const Snapshot& s, const std::string& suffix) {
  std::vector<std::string> out;
  for (const auto& [name, _] : s)
    if (name.ends_with(suffix))
      out.push_back(name);
  return out;
}

TEST(Reproducibility, SameNowAndSeedGiveByteIdenticalOutput) {
  const auto& fixture = default_pki();
  ASSERT_FALSE(fixture.seed.empty());
  const ScratchDir work;
  // Two fresh runs side by side, with the fixture's now and seed.
  const auto generate = [&](const std::string& out) {
    return std::async(std::launch::async, [&, out] {
      return tlsmatrix_generate(
          {"--out", (work / out).string(), "--now", fixture.now, "--seed", fixture.seed});
    });
  };
  auto a = generate("a");
  auto b = generate("b");
  const auto ra = a.get(), rb = b.get();
  ASSERT_EQ(ra.exit_code, 0) << ra.err;
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  const auto sa = snapshot(work / "a"), sb = snapshot(work / "b");
  EXPECT_GT(sa.size(), 300u);
  EXPECT_EQ(differing(sa, sb), std::vector<std::string>{});
  // And the fixture, issued by a third run (under ctest one that did not pin --now), is identical.
  EXPECT_EQ(differing(sa, snapshot(fixture.dir)), std::vector<std::string>{});
}

TEST(Reproducibility, ADifferentSeedChangesEveryKeyAndCertificate) {
  const ScratchDir work;
  const auto now = testing_support::utc_now();
  const auto a = issue(work / "a", small_spec(), {"--seed", "one"}, now);
  const auto b = issue(work / "b", small_spec(), {"--seed", "two"}, now);
  const auto sa = snapshot(a.dir), sb = snapshot(b.dir);
  const auto keys = files_ending(sa, ".key.pem");
  const auto certs = files_ending(sa, ".crt.pem");
  ASSERT_EQ(keys.size(), 4u);
  ASSERT_EQ(certs.size(), 4u);
  const auto changed = differing(sa, sb);
  for (const auto& f : keys)
    EXPECT_NE(std::find(changed.begin(), changed.end(), f), changed.end()) << f;
  for (const auto& f : certs)
    EXPECT_NE(std::find(changed.begin(), changed.end(), f), changed.end()) << f;
}

TEST(Reproducibility, WithoutASeedEveryRunDiffers) {
  const ScratchDir work;
  const auto now = testing_support::utc_now();
  const auto sa = snapshot(issue(work / "a", small_spec(), {}, now).dir);
  const auto sb = snapshot(issue(work / "b", small_spec(), {}, now).dir);
  ASSERT_EQ(files_ending(sa, ".key.pem").size(), 4u);
  const auto changed = differing(sa, sb);
  for (const auto& f : files_ending(sa, ".key.pem"))
    EXPECT_NE(std::find(changed.begin(), changed.end(), f), changed.end()) << f;
  for (const auto& f : files_ending(sa, ".crt.pem"))
    EXPECT_NE(std::find(changed.begin(), changed.end(), f), changed.end()) << f;
}

std::string start_date(const fs::path& cert) {
  return openssl({"x509", "-in", cert.string(), "-noout", "-startdate", "-dateopt", "iso_8601"});
}

TEST(Reproducibility, NowIsHonoured) {
  const auto& fixture = default_pki();
  EXPECT_EQ(start_date(fixture.file("server", "cert")),
            "notBefore=" +
                testing_support::format_utc(fixture.now_unix - 86400).replace(10, 1, " ") + "\n");
  // A "now" years away from the clock.
  const ScratchDir work;
  const auto pki = issue(work / "pki", small_spec(), {}, "2031-03-04T05:06:07Z");
  EXPECT_EQ(start_date(pki.file("server", "cert")), "notBefore=2031-03-03 05:06:07Z\n");
  EXPECT_EQ(pki.manifest.at("now"), "2031-03-04T05:06:07Z");
}

// Key types

struct KeyTypeRow {
  std::string key;
  std::vector<std::string> text; // what `openssl x509 -text` must show
  std::string signature;         // the leaf's signature algorithm (signed by a root of its type)
};

TEST(KeyTypes, EveryKeyTypeIssuesAndVerifies) {
  const std::vector<KeyTypeRow> rows = {
      {"ec-p256", {"id-ecPublicKey", "Public-Key: (256 bit)", "NIST CURVE: P-256"}, "ecdsa-with-"},
      {"ec-p384", {"id-ecPublicKey", "Public-Key: (384 bit)", "NIST CURVE: P-384"}, "ecdsa-with-"},
      {"ec-p521", {"id-ecPublicKey", "Public-Key: (521 bit)", "NIST CURVE: P-521"}, "ecdsa-with-"},
      {"ed25519", {"Public Key Algorithm: ED25519"}, "ED25519"},
      {"ed448", {"Public Key Algorithm: ED448"}, "ED448"},
      {"rsa-2048", {"rsaEncryption", "Public-Key: (2048 bit)"}, "WithRSAEncryption"},
      {"rsa-3072", {"rsaEncryption", "Public-Key: (3072 bit)"}, "WithRSAEncryption"},
  };
  json entities = json::object();
  for (const auto& row : rows) {
    entities["root_" + row.key] = {
        {"profile", "root"}, {"key", row.key}, {"subject", "/CN=root " + row.key}};
    entities["leaf_" + row.key] = {
        {"profile", "server"}, {"issuer", "root_" + row.key}, {"key", row.key}};
  }
  const ScratchDir work;
  const auto pki = issue(work / "pki", json{{"version", 1}, {"entities", entities}});
  for (const auto& row : rows) {
    for (const std::string prefix : {"root_", "leaf_"}) {
      const auto name = prefix + row.key;
      SCOPED_TRACE(name);
      const auto cert = pki.file(name, "cert");
      testing_support::VerifyFlags flags;
      flags.purpose = prefix == "leaf_" ? "sslserver" : "";
      flags.hostname = prefix == "leaf_" ? std::optional<std::string>("localhost") : std::nullopt;
      flags.at_time = pki.now_unix;
      const auto v = testing_support::openssl_verify(pki.file("root_" + row.key, "cert"),
                                                     std::nullopt, flags, cert);
      EXPECT_TRUE(v.ok()) << v.output;
      const auto text = openssl({"x509", "-in", cert.string(), "-noout", "-text", "-pubkey"});
      for (const auto& s : row.text)
        EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
      const auto at = text.find("Signature Algorithm: ");
      ASSERT_NE(at, std::string::npos) << text;
      const auto signature = text.substr(at, text.find('\n', at) - at);
      EXPECT_NE(signature.find(row.signature), std::string::npos) << signature;
      // The key file is valid and holds the certified key.
      const auto key = testing_support::run(
          {"openssl", "pkey", "-in", pki.file(name, "key").string(), "-check", "-pubout"});
      EXPECT_EQ(key.exit_code, 0) << key.err;
      EXPECT_TRUE(key.out.starts_with("Key is valid\n")) << key.out << key.err;
      const auto pub = key.out.find("-----BEGIN PUBLIC KEY-----");
      ASSERT_NE(pub, std::string::npos) << key.out;
      EXPECT_TRUE(text.ends_with(key.out.substr(pub))) << text << key.out;
    }
  }
}

// Atomic output

// Leftover staging directories (".NAME.tmpXXXXXX") next to `dir`.
std::vector<std::string> temp_dirs_next_to(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir.parent_path()))
    if (e.path().filename().string().find(".tmp") != std::string::npos)
      out.push_back(e.path().filename().string());
  return out;
}

TEST(AtomicOutput, AFailedRunLeavesThePreviousPkiIntact) {
  const ScratchDir work;
  const auto out = work / "pki";
  issue(out, small_spec(), {"--seed", "first"});
  const auto before = snapshot(out);
  ASSERT_FALSE(before.empty());

  // Valid JSON, but the last entity names an issuer that does not exist.
  auto dangling = small_spec();
  dangling["entities"]["zz_last"] = {{"profile", "server"}, {"issuer", "no_such_ca"}};
  const auto dangling_file = work / "dangling.json";
  testing_support::write_text(dangling_file, dangling.dump());
  const auto r = tlsmatrix_generate(
      {"--spec", dangling_file.string(), "--out", out.string(), "--seed", "second"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("/entities/zz_last/issuer"), std::string::npos) << r.err;
  EXPECT_EQ(differing(before, snapshot(out)), std::vector<std::string>{});
  EXPECT_EQ(temp_dirs_next_to(out), std::vector<std::string>{});

  // Fails only while issuing, after every key has been generated: OpenSSL refuses a CN longer
  // than the 64 characters X.520 allows. The binary reports that as "OpenSSL refused an operation"
  // (4); a spec check catching it earlier would make it 2.
  auto too_long = small_spec();
  too_long["entities"]["zz_last"] = {
      {"profile", "server"}, {"issuer", "root"}, {"subject", "/CN=" + std::string(80, 'x')}};
  const auto too_long_file = work / "too_long.json";
  testing_support::write_text(too_long_file, too_long.dump());
  const auto late = tlsmatrix_generate(
      {"--spec", too_long_file.string(), "--out", out.string(), "--seed", "third"});
  EXPECT_TRUE(late.exit_code == 4 || late.exit_code == 2) << late.exit_code << ": " << late.err;
  EXPECT_EQ(differing(before, snapshot(out)), std::vector<std::string>{});
  EXPECT_EQ(temp_dirs_next_to(out), std::vector<std::string>{});
}

TEST(AtomicOutput, ASuccessfulRunReplacesTheWholeDirectory) {
  const ScratchDir work;
  const auto out = work / "pki";
  auto bigger = small_spec();
  bigger["entities"]["extra"] = {{"profile", "client"}, {"issuer", "root"}};
  issue(out, bigger, {"--seed", "first"});
  ASSERT_TRUE(fs::exists(out / "extra.crt.pem"));
  issue(out, small_spec(), {"--seed", "second"});
  EXPECT_FALSE(fs::exists(out / "extra.crt.pem")) << "files of the previous PKI survived";
  EXPECT_EQ(json::parse(read_text(out / "manifest.json")).at("seed"), "second");
  EXPECT_EQ(temp_dirs_next_to(out), std::vector<std::string>{});
}

TEST(AtomicOutput, ManifestRecordsEachFilesSha256AsSha256sumComputesIt) {
  const ScratchDir work;
  const auto out = work / "pki";
  const auto issued = issue(out, small_spec(), {"--seed", "digests"});
  const json& digests = issued.manifest.at("file_sha256");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(out))
    if (e.path().filename() != "manifest.json")
      files.push_back(e.path().filename().string());
  ASSERT_EQ(digests.size(), files.size());
  for (const auto& f : files) {
    const auto r = testing_support::run({"sha256sum", (out / f).string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(digests.value(f, ""), r.out.substr(0, 64)) << f;
  }
}

TEST(AtomicOutput, ConcurrentGeneratesLeaveOneWholePki) {
  const ScratchDir work;
  const auto out = work / "pki";
  const auto spec = work / "small.json";
  testing_support::write_text(spec, small_spec().dump());
  std::vector<std::future<testing_support::CommandResult>> runs;
  for (int i = 0; i < 4; ++i)
    runs.push_back(std::async(std::launch::async, [&, i] {
      return tlsmatrix_generate({"--spec", spec.string(), "--out", out.string(), "--seed",
                                 "concurrent-" + std::to_string(i)});
    }));
  for (auto& r : runs) {
    const auto result = r.get();
    EXPECT_EQ(result.exit_code, 0) << result.err;
  }
  // Whichever came last, its files all: each one as its manifest recorded it.
  const json m = json::parse(read_text(out / "manifest.json"));
  for (const auto& [f, digest] : m.at("file_sha256").items()) {
    const auto r = testing_support::run({"sha256sum", (out / f).string()});
    EXPECT_EQ(r.out.substr(0, 64), digest.get<std::string>()) << f << " is from another run";
  }
  EXPECT_EQ(temp_dirs_next_to(out), std::vector<std::string>{});
}

TEST(AtomicOutput, RefusesADirectoryThatIsNotAPki) {
  const ScratchDir work;
  const auto out = work / "precious";
  fs::create_directory(out);
  testing_support::write_text(out / "notes.txt", "not a PKI\n");
  const auto before = snapshot(out);
  // The small spec: the directory is checked only once everything has been issued.
  const auto spec = work / "small.json";
  testing_support::write_text(spec, small_spec().dump());
  const auto r = tlsmatrix_generate({"--spec", spec.string(), "--out", out.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("manifest.json"), std::string::npos) << r.err;
  EXPECT_EQ(snapshot(out), before);
  EXPECT_EQ(temp_dirs_next_to(out), std::vector<std::string>{});
}

} // namespace

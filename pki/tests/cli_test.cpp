// The `tlsmatrix` command line: help on every level, usage errors (exit 2) that name what was
// wrong, `pki defects`, `pki check`, `pki show` and where `pki generate` writes.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pki/defects.hpp"
#include "pki/spec.hpp"
#include "pki/version.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using testing_support::CommandResult;
using testing_support::ScratchDir;
using testing_support::source_dir;

CommandResult tlsmatrix(std::vector<std::string> args,
                        const std::optional<fs::path>& cwd = std::nullopt) {
  args.insert(args.begin(), testing_support::tlsmatrix_binary());
  return testing_support::run(args, {}, std::chrono::seconds(60), cwd);
}

bool contains(const std::string& text, const std::string& fragment) {
  return text.find(fragment) != std::string::npos;
}

std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A small PKI for the tests that need one issued: fast (EC keys) and reproducible.
const std::string small_spec = R"({
  "version": 1,
  "entities": {
    "root": {"profile": "root", "subject": "/O=tlsmatrix/CN=CLI Test Root"},
    "intermediate": {"profile": "intermediate", "issuer": "root"},
    "server": {"profile": "server", "issuer": "intermediate", "description": "good server"},
    "server_expired": {"from": "server", "defects": ["expired"], "description": "expired server"}
  }
})";

// ---------------------------------------------------------------------------------------------
// Help and version

TEST(CliHelp, EveryLevelAnswersHelpWithExitZero) {
  const std::vector<std::vector<std::string>> levels = {
      {}, {"pki"}, {"pki", "generate"}, {"pki", "check"}, {"pki", "defects"}, {"pki", "show"}};
  for (const auto& level : levels) {
    auto args = level;
    args.push_back("--help");
    const auto r = tlsmatrix(args);
    std::string path = "tlsmatrix";
    for (const auto& word : level)
      path += " " + word;
    EXPECT_EQ(r.exit_code, 0) << path << "\n" << r.err;
    EXPECT_TRUE(contains(r.out, "Usage: " + path)) << path << ":\n" << r.out;
    EXPECT_TRUE(r.err.empty()) << path << ":\n" << r.err;
  }
}

TEST(CliHelp, ListsTheCommandsOfEachLevel) {
  EXPECT_TRUE(contains(tlsmatrix({"--help"}).out, "pki"));
  const auto pki = tlsmatrix({"pki", "--help"}).out;
  for (const char* verb : {"generate", "check", "defects", "show"})
    EXPECT_TRUE(contains(pki, verb)) << verb;
  EXPECT_TRUE(contains(tlsmatrix({"--help"}).out, "Exit codes"));
}

TEST(CliHelp, GenerateHelpSaysWhereOutputGoes) {
  const auto r = tlsmatrix({"pki", "generate", "--help"});
  EXPECT_TRUE(contains(r.out, "--out TEXT=results/pki")) << r.out;
  EXPECT_TRUE(contains(r.out, "relative to the current directory")) << r.out;
  for (const char* option :
       {"--spec", "--now", "--seed", "--key-cache", "--formats", "--jobs", "--quiet"})
    EXPECT_TRUE(contains(r.out, option)) << option;
}

TEST(CliVersion, PrintsNameAndVersion) {
  const auto r = tlsmatrix({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "tlsmatrix " + std::string(tlsmatrix::version) + "\n");
}

// ---------------------------------------------------------------------------------------------
// Usage errors: exit 2, naming the command and the word

TEST(CliUsage, UnknownTopLevelCommand) {
  const auto r = tlsmatrix({"nosuch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "tlsmatrix: error: unknown command \"nosuch\" (expected one of pki,"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "Run `tlsmatrix --help`")) << r.err;
}

TEST(CliUsage, UnknownPkiCommand) {
  const auto r = tlsmatrix({"pki", "nosuch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(
      contains(r.err, "tlsmatrix pki: error: unknown command \"nosuch\" (expected one of generate, "
                      "check, defects, show)"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "Run `tlsmatrix pki --help`")) << r.err;
}

TEST(CliUsage, MissingCommand) {
  const auto top = tlsmatrix({});
  EXPECT_EQ(top.exit_code, 2);
  EXPECT_TRUE(contains(top.err, "tlsmatrix: error: expected a command: pki")) << top.err;
  const auto pki = tlsmatrix({"pki"});
  EXPECT_EQ(pki.exit_code, 2);
  EXPECT_TRUE(
      contains(pki.err, "tlsmatrix pki: error: expected a command: generate, check, defects, show"))
      << pki.err;
}

TEST(CliUsage, UnknownOptionNamesItAndTheCommand) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"pki", "generate", "--no-such-option"},
        {"pki", "show", "x", "--no-such-option"},
        {"pki", "defects", "--no-such-option"},
        {"--no-such-option"}}) {
    const auto r = tlsmatrix(args);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_TRUE(contains(r.err, "--no-such-option")) << r.err;
    EXPECT_TRUE(contains(r.err, "--help` for more information")) << r.err;
  }
}

TEST(CliUsage, MissingArgument) {
  const auto r = tlsmatrix({"pki", "check"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "tlsmatrix pki check: error: spec is required")) << r.err;
  const auto s = tlsmatrix({"pki", "show"});
  EXPECT_EQ(s.exit_code, 2);
  EXPECT_TRUE(contains(s.err, "certificate is required")) << s.err;
}

TEST(CliUsage, RelativeNowIsRejected) {
  const ScratchDir dir;
  for (const char* bad : {"-5d", "+1y", "now", "yesterday", "2026-13-01"}) {
    const auto r = tlsmatrix({"pki", "generate", "--now", bad, "--out", (dir / "out").string()});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_TRUE(contains(
        r.err, "--now: expected an absolute UTC time such as 2026-01-31T12:00:00Z, got \"" +
                   std::string(bad) + "\""))
        << r.err;
  }
  EXPECT_TRUE(entries_of(dir.path()).empty()) << "nothing is written";
}

TEST(CliUsage, NowSoLateThatDefaultsPassYear9999IsInvalidInput) {
  const ScratchDir dir;
  const auto r = tlsmatrix(
      {"pki", "generate", "--now", "9999-01-01T00:00:00Z", "--out", (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "<built-in default spec>: /entities/")) << r.err;
  EXPECT_TRUE(contains(r.err, "from year 0000 to 9999")) << r.err;
  EXPECT_TRUE(entries_of(dir.path()).empty());
}

TEST(CliUsage, UnknownFormatIsRejected) {
  const ScratchDir dir;
  const auto r =
      tlsmatrix({"pki", "generate", "--formats", "pem,xyz", "--out", (dir / "out").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--formats")) << r.err;
  EXPECT_TRUE(entries_of(dir.path()).empty());
}

// ---------------------------------------------------------------------------------------------
// pki defects

TEST(CliDefects, TextListsEveryCatalogDefectOnce) {
  const auto r = tlsmatrix({"pki", "defects"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> names; // lines that start a defect: the name in the first column
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line.front() != ' ')
      names.push_back(line.substr(0, line.find(' ')));

  std::vector<std::string> catalog;
  for (const auto& d : pki::defect_catalog())
    catalog.emplace_back(d.name);
  EXPECT_EQ(names, catalog);

  const auto json = tlsmatrix({"pki", "defects", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto parsed = nlohmann::json::parse(json.out);
  ASSERT_TRUE(parsed.is_array());
  EXPECT_EQ(parsed.size(), names.size());
  std::vector<std::string> json_names;
  for (const auto& d : parsed) {
    json_names.push_back(d.at("name").get<std::string>());
    EXPECT_FALSE(d.at("summary").get<std::string>().empty());
    EXPECT_FALSE(d.at("applies_to").empty());
    EXPECT_TRUE(d.at("reason").is_string());
    EXPECT_TRUE(d.at("openssl_error").is_number_integer());
  }
  EXPECT_EQ(json_names, catalog);
}

// ---------------------------------------------------------------------------------------------
// pki check

TEST(CliCheck, DefaultSpecFileIsValid) {
  const auto file = (source_dir() / "scenarios/pki/default.json").string();
  const auto r = tlsmatrix({"pki", "check", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto count = pki::default_spec(pki::current_time()).entities.size();
  EXPECT_EQ(r.out, file + ": OK, " + std::to_string(count) + " entities\n");
}

TEST(CliCheck, BadSpecExitsTwoWithFileAndPointer) {
  const ScratchDir dir;
  const auto file = dir / "bad.json";
  testing_support::write_text(file, R"({"version": 1, "entities": {
    "root": {"profile": "root"},
    "server": {"profile": "server", "issuer": "root", "key": "ec-p257"}}})");
  const auto r = tlsmatrix({"pki", "check", file.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "tlsmatrix: error: " + file.string() +
                                  ": /entities/server/key: expected one of "))
      << r.err;
  EXPECT_TRUE(contains(r.err, "got \"ec-p257\" (did you mean \"ec-p256\"?)")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(CliCheck, SpecThatCannotBeReadIsNamed) {
  // Tests run as root, where chmod 000 does not stop reading: a directory and a missing path do.
  const ScratchDir dir;
  const auto missing = (dir / "missing.json").string();
  for (const std::vector<std::string>& args : {std::vector<std::string>{"pki", "check", missing},
                                               {"pki", "generate", "--spec", missing}}) {
    const auto r = tlsmatrix(args);
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_TRUE(contains(r.err, "File does not exist: " + missing)) << r.err;
  }
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"pki", "check", dir.path().string()},
        {"pki", "generate", "--spec", dir.path().string()}}) {
    const auto r = tlsmatrix(args);
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_TRUE(contains(r.err, "directory: " + dir.path().string())) << r.err;
  }
  EXPECT_TRUE(entries_of(dir.path()).empty());
}

// ---------------------------------------------------------------------------------------------
// pki show, on a PKI issued once for the suite

class CliShow : public testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<ScratchDir>();
    testing_support::write_text(*dir_ / "spec.json", small_spec);
    const auto r =
        tlsmatrix({"pki", "generate", "--spec", (*dir_ / "spec.json").string(), "--out",
                   pki().string(), "--now", "2026-01-31T00:00:00Z", "--seed", "cli-show", "-q"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { dir_.reset(); }
  static fs::path pki() { return *dir_ / "pki"; }

private:
  static std::unique_ptr<ScratchDir> dir_;
};
std::unique_ptr<ScratchDir> CliShow::dir_;

TEST_F(CliShow, EntityWithDefectSaysWhatIsWrong) {
  const auto r = tlsmatrix({"pki", "show", "server_expired", "--pki", pki().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "server_expired — expired server")) << r.out;
  EXPECT_TRUE(contains(r.out, "not after")) << r.out;
  EXPECT_TRUE(contains(r.out, "2026-01-01T00:00:00Z")) << r.out; // --now 2026-01-31 minus 30 days
  EXPECT_TRUE(contains(r.out, "- expired: notAfter is 30 days in the past")) << r.out;
  EXPECT_TRUE(contains(
      r.out, "expected verification: error (expired), openssl 10 X509_V_ERR_CERT_HAS_EXPIRED"))
      << r.out;
}

TEST_F(CliShow, GoodEntityHasNoDefects) {
  const auto r = tlsmatrix({"pki", "show", "server", "--pki", pki().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.out, "defects:")) << r.out;
  EXPECT_TRUE(contains(r.out, "expected verification: ok")) << r.out;
}

TEST_F(CliShow, PemAndDerFilesOfOneCertificateAgree) {
  const auto pem = tlsmatrix({"pki", "show", (pki() / "server.crt.pem").string()});
  const auto der = tlsmatrix({"pki", "show", (pki() / "server.der").string()});
  ASSERT_EQ(pem.exit_code, 0) << pem.err;
  ASSERT_EQ(der.exit_code, 0) << der.err;
  EXPECT_TRUE(contains(pem.out, "CN=localhost")) << pem.out;
  // Everything after the first line (the file name) is about the certificate.
  EXPECT_EQ(pem.out.substr(pem.out.find('\n')), der.out.substr(der.out.find('\n')));
}

TEST_F(CliShow, FingerprintMatchesOpenssl) {
  if (!testing_support::have_program("openssl"))
    GTEST_SKIP() << "openssl CLI not installed";
  const auto file = (pki() / "server.crt.pem").string();
  const auto ossl =
      testing_support::run({"openssl", "x509", "-in", file, "-noout", "-fingerprint", "-sha256"});
  ASSERT_EQ(ossl.exit_code, 0) << ossl.err;
  const auto fingerprint = ossl.out.substr(ossl.out.find('=') + 1, 95); // 32 bytes as AB:CD:…
  EXPECT_TRUE(contains(tlsmatrix({"pki", "show", file}).out, fingerprint)) << fingerprint;
}

TEST_F(CliShow, ChainFileShowsEveryCertificate) {
  const auto r = tlsmatrix({"pki", "show", (pki() / "server.fullchain.pem").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "server.fullchain.pem [2]:")) << r.out;
  EXPECT_TRUE(contains(r.out, "CN=CLI Test Root")) << r.out;
}

TEST_F(CliShow, UnknownEntityIsNamed) {
  const auto r = tlsmatrix({"pki", "show", "nosuchentity", "--pki", pki().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "no entity named \"nosuchentity\" in " +
                                  (pki() / "manifest.json").string() +
                                  " (entities: intermediate, root, server, server_expired)"))
      << r.err;
}

TEST_F(CliShow, KeyFileIsNotACertificate) {
  const auto key = (pki() / "server.key.pem").string();
  const auto r = tlsmatrix({"pki", "show", key});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(
      r.err, key + ": no certificate in this PEM file (it holds \"-----BEGIN PRIVATE KEY-----\")"))
      << r.err;
}

TEST_F(CliShow, MissingFileIsNamed) {
  const auto file = (pki() / "nope.crt.pem").string();
  const auto r = tlsmatrix({"pki", "show", file});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, file + ": no such file")) << r.err;
}

TEST_F(CliShow, MissingPkiDirectoryNamesTheManifest) {
  const auto missing = pki() / "not-generated";
  const auto r = tlsmatrix({"pki", "show", "server", "--pki", missing.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, (missing / "manifest.json").string() + " does not exist")) << r.err;
  EXPECT_TRUE(contains(r.err, "tlsmatrix pki generate")) << r.err;
}

TEST(CliShowManifest, ForeignManifestIsInvalidInputNotAnInternalError) {
  const ScratchDir dir;
  testing_support::write_text(dir / "manifest.json", R"({"version": 1})");
  const auto r = tlsmatrix({"pki", "show", "server", "--pki", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, (dir / "manifest.json").string() + ": not a tlsmatrix manifest"))
      << r.err;
}

// ---------------------------------------------------------------------------------------------
// pki generate

TEST(CliGenerate, WithoutArgumentsWritesResultsPkiUnderTheCurrentDirectory) {
  const ScratchDir cwd;
  const auto r = tlsmatrix({"pki", "generate"}, cwd.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "-> results/pki")) << r.out;
  EXPECT_EQ(entries_of(cwd.path()), std::vector<std::string>{"results"});
  EXPECT_EQ(entries_of(cwd / "results"), std::vector<std::string>{"pki"})
      << "no temporary directory is left";
  const auto manifest =
      nlohmann::json::parse(testing_support::read_text(cwd / "results/pki/manifest.json"));
  const auto spec = pki::default_spec(pki::current_time());
  EXPECT_EQ(manifest.at("entities").size(), spec.entities.size());
  for (const auto& e : spec.entities)
    EXPECT_TRUE(fs::exists(cwd / "results/pki" / (e.name + ".crt.pem"))) << e.name;
}

TEST(CliGenerate, FailedRunLeavesThePreviousOutputIntact) {
  const ScratchDir dir;
  testing_support::write_text(dir / "good.json", small_spec);
  testing_support::write_text(dir / "bad.json",
                              R"({"version": 1, "entities": {"root": {"profile": "rot"}}})");
  const auto out = (dir / "pki").string();
  ASSERT_EQ(
      tlsmatrix({"pki", "generate", "--spec", (dir / "good.json").string(), "--out", out, "-q"})
          .exit_code,
      0);
  const auto before = testing_support::read_text(dir / "pki/manifest.json");

  const auto r =
      tlsmatrix({"pki", "generate", "--spec", (dir / "bad.json").string(), "--out", out, "-q"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "/entities/root/profile: expected one of")) << r.err;
  EXPECT_EQ(testing_support::read_text(dir / "pki/manifest.json"), before);
  EXPECT_EQ(entries_of(dir.path()), (std::vector<std::string>{"bad.json", "good.json", "pki"}));
}

TEST(CliGenerate, QuietPrintsNothingAndSummaryCountsEntities) {
  const ScratchDir dir;
  testing_support::write_text(dir / "spec.json", small_spec);
  const auto quiet = tlsmatrix({"pki", "generate", "--spec", (dir / "spec.json").string(), "--out",
                                (dir / "a").string(), "-q"});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_TRUE(quiet.out.empty()) << quiet.out;
  const auto loud = tlsmatrix(
      {"pki", "generate", "--spec", (dir / "spec.json").string(), "--out", (dir / "b").string()});
  EXPECT_EQ(loud.exit_code, 0) << loud.err;
  EXPECT_TRUE(contains(loud.out, "4 certificates (2 CAs, 2 leaves; 1 broken)")) << loud.out;
  EXPECT_TRUE(contains(loud.out, "expired -> expired [openssl 10]")) << loud.out;
}

} // namespace

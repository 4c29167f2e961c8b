// A run's copy of a PKI: what it copies, how it is checked against the manifest, and what a
// writer that takes no lock (a `cp` into one's own --pki directory) can and cannot do to it. The
// fingerprints are checked with coreutils' sha256sum, the files against the manifest's JSON.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <set>

#include "common/error.hpp"
#include "pki/snapshot.hpp"
#include "pki_fixture.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::default_pki;
using testing_support::read_text;
using testing_support::ScratchDir;
using testing_support::sha256sum_listing;
using testing_support::write_text;

// The files a manifest names, as its JSON says.
std::set<std::string> named_files(const fs::path& dir) {
  const json m = json::parse(read_text(dir / "manifest.json"));
  std::set<std::string> out{"manifest.json"};
  for (const auto& [_, f] : m.at("files").items())
    out.insert(f.get<std::string>());
  for (const auto& [_, e] : m.at("entities").items())
    for (const auto& [__, f] : e.at("files").items())
      if (f.is_string())
        out.insert(f.get<std::string>());
  return out;
}

std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.insert(e.path().filename().string());
  return out;
}

fs::path copy_of_default_pki(const ScratchDir& work) {
  const fs::path dir = work / "mine";
  fs::copy(default_pki().dir, dir, fs::copy_options::recursive);
  return dir;
}

std::string error_of(const std::function<void()>& f, tlsmatrix::Errc* code = nullptr) {
  try {
    f();
  } catch (const tlsmatrix::Error& e) {
    if (code)
      *code = e.code();
    return e.what();
  }
  return {};
}

// A shell script in the background, in a process group of its own that is killed at the end.
class Background {
public:
  explicit Background(const std::string& script) {
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    std::string sh = "sh", c = "-c", body = script;
    char* argv[] = {sh.data(), c.data(), body.data(), nullptr};
    EXPECT_EQ(::posix_spawnp(&pid_, "sh", nullptr, &attr, argv, environ), 0);
    posix_spawnattr_destroy(&attr);
  }
  ~Background() {
    if (pid_ <= 0)
      return;
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  // Waits for it to end by itself; its exit status.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

private:
  pid_t pid_ = -1;
};

TEST(Snapshot, CopiesWhatTheManifestNamesAsSha256sumSeesIt) {
  const ScratchDir work;
  const auto& source = default_pki().dir;
  const auto snap = pki::snapshot_pki(source, work / "pki");
  EXPECT_EQ(snap.dir, work / "pki");
  EXPECT_EQ(files_in(snap.dir), named_files(source));
  EXPECT_EQ(snap.verified_by, "file digests");
  EXPECT_EQ(snap.sha256, sha256sum_listing(snap.dir));
  // A directory `pki generate` wrote holds just the files its manifest names: the same bytes.
  EXPECT_EQ(snap.sha256, sha256sum_listing(source));
  for (const auto& f : files_in(snap.dir))
    EXPECT_EQ(read_text(snap.dir / f), read_text(source / f)) << f;
  const auto mode = [](const fs::path& p) { return fs::status(p).permissions(); };
  EXPECT_EQ(mode(snap.dir / "server.key.pem"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode(snap.dir / "server.p12"), fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(mode(snap.dir), fs::perms::owner_all);
  EXPECT_EQ(files_in(work.path()), std::set<std::string>{"pki"}) << "a staging folder was left";
  // And verify_pki agrees on the copy.
  EXPECT_EQ(pki::verify_pki(snap.dir).sha256, snap.sha256);
}

TEST(Snapshot, RefusesAFileThatDoesNotMatchItsManifest) {
  const ScratchDir work;
  const fs::path mine = copy_of_default_pki(work);
  write_text(mine / "server.crt.pem", read_text(mine / "server.crt.pem") + "\n");
  tlsmatrix::Errc code{};
  const std::string why = error_of([&] { (void)pki::snapshot_pki(mine, work / "pki", 2); }, &code);
  EXPECT_EQ(code, tlsmatrix::Errc::unstable_input);
  EXPECT_NE(why.find((mine / "server.crt.pem").string()), std::string::npos) << why;
  EXPECT_NE(why.find("/file_sha256"), std::string::npos) << why;
  EXPECT_FALSE(fs::exists(work / "pki"));
  EXPECT_EQ(files_in(work.path()), std::set<std::string>{"mine"}) << "a staging folder was left";
}

TEST(Snapshot, AnOlderManifestIsCheckedByCertificateFingerprints) {
  const ScratchDir work;
  const fs::path mine = copy_of_default_pki(work);
  json m = json::parse(read_text(mine / "manifest.json"));
  m.erase("file_sha256");
  write_text(mine / "manifest.json", m.dump(2));
  const auto snap = pki::snapshot_pki(mine, work / "pki");
  EXPECT_EQ(snap.verified_by, "certificate fingerprints");
  EXPECT_EQ(snap.sha256, sha256sum_listing(snap.dir));

  write_text(mine / "server.crt.pem", read_text(mine / "server_expired.crt.pem"));
  tlsmatrix::Errc code{};
  const std::string why =
      error_of([&] { (void)pki::snapshot_pki(mine, work / "again", 1); }, &code);
  EXPECT_EQ(code, tlsmatrix::Errc::unstable_input);
  EXPECT_NE(why.find((mine / "server.crt.pem").string()), std::string::npos) << why;
  EXPECT_NE(why.find(m.at("entities").at("server").at("sha256_fingerprint").get<std::string>()),
            std::string::npos)
      << why;
}

TEST(Snapshot, AManifestNamingAFileOutsideItsDirectoryIsRefused) {
  const ScratchDir work;
  const fs::path mine = copy_of_default_pki(work);
  json m = json::parse(read_text(mine / "manifest.json"));
  m["entities"]["server"]["files"]["cert"] = "../elsewhere.pem";
  write_text(mine / "manifest.json", m.dump(2));
  tlsmatrix::Errc code{};
  const std::string why = error_of([&] { (void)pki::snapshot_pki(mine, work / "pki"); }, &code);
  EXPECT_EQ(code, tlsmatrix::Errc::invalid_input);
  EXPECT_NE(why.find("/entities/server/files/cert"), std::string::npos) << why;
}

TEST(Snapshot, NoPkiThereIsInvalidInput) {
  const ScratchDir work;
  tlsmatrix::Errc code{};
  const std::string why =
      error_of([&] { (void)pki::snapshot_pki(work / "none", work / "pki"); }, &code);
  EXPECT_EQ(code, tlsmatrix::Errc::invalid_input);
  EXPECT_NE(why.find("pki generate"), std::string::npos) << why;
}

// Two PKIs copied over each other, file by file, by a program that takes no lock: every copy the
// snapshot makes is one of the two whole, or it refuses. Never a mix.
TEST(Snapshot, AWriterThatTakesNoLockGivesOnePkiOrARefusal) {
  const ScratchDir work;
  const auto a = testing_support::issue(work / "a", std::nullopt, {"--seed", "a"});
  const auto b = testing_support::issue(work / "b", std::nullopt, {"--seed", "b"});
  const std::string fingerprint_a = sha256sum_listing(a.dir),
                    fingerprint_b = sha256sum_listing(b.dir);
  ASSERT_NE(fingerprint_a, fingerprint_b);
  const fs::path mine = work / "mine";
  fs::copy(a.dir, mine, fs::copy_options::recursive);

  int whole = 0, refused = 0;
  for (int round = 0; round < 3; ++round) {
    Background writer("for i in $(seq 20); do cp '" + b.dir.string() + "'/* '" + mine.string() +
                      "'/; cp '" + a.dir.string() + "'/* '" + mine.string() + "'/; done; cp '" +
                      b.dir.string() + "'/* '" + mine.string() + "'/");
    const fs::path target = work / ("copy-" + std::to_string(round));
    try {
      const auto snap = pki::snapshot_pki(mine, target);
      EXPECT_TRUE(snap.sha256 == fingerprint_a || snap.sha256 == fingerprint_b) << snap.sha256;
      EXPECT_EQ(sha256sum_listing(target), snap.sha256);
      ++whole;
    } catch (const tlsmatrix::Error& e) {
      EXPECT_EQ(e.code(), tlsmatrix::Errc::unstable_input) << e.what();
      EXPECT_FALSE(fs::exists(target));
      ++refused;
    }
    EXPECT_EQ(writer.wait(), 0);
  }
  EXPECT_EQ(whole + refused, 3);
  // Once the writer is done, the directory is B whole again, and copies as such.
  EXPECT_EQ(pki::snapshot_pki(mine, work / "after").sha256, fingerprint_b);
}

TEST(VerifyPki, SeesAFileChangedInACopy) {
  const ScratchDir work;
  const auto snap = pki::snapshot_pki(default_pki().dir, work / "pki");
  fs::permissions(snap.dir / "client.key.pem", fs::perms::owner_write, fs::perm_options::add);
  write_text(snap.dir / "client.key.pem", read_text(default_pki().dir / "server.key.pem"));
  tlsmatrix::Errc code{};
  const std::string why = error_of([&] { (void)pki::verify_pki(snap.dir); }, &code);
  EXPECT_EQ(code, tlsmatrix::Errc::unstable_input);
  EXPECT_NE(why.find("client.key.pem"), std::string::npos) << why;
}

} // namespace

// The compiled peer programs a run pins (harness::pin_peer_programs): a rebuild during the run,
// which renames new files over the build's, must leave the run's peers on what they started with.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using testing_support::read_text;
using testing_support::ScratchDir;
using testing_support::write_text;

// TLSMATRIX_PEER_PROGRAMS_DIR pointed at a folder for the test's length.
class ProgramsDir {
public:
  explicit ProgramsDir(const fs::path& dir) {
    if (const char* old = std::getenv("TLSMATRIX_PEER_PROGRAMS_DIR"))
      old_ = old;
    ::setenv("TLSMATRIX_PEER_PROGRAMS_DIR", dir.c_str(), 1);
  }
  ~ProgramsDir() {
    if (old_)
      ::setenv("TLSMATRIX_PEER_PROGRAMS_DIR", old_->c_str(), 1);
    else
      ::unsetenv("TLSMATRIX_PEER_PROGRAMS_DIR");
  }
  ProgramsDir(const ProgramsDir&) = delete;
  ProgramsDir& operator=(const ProgramsDir&) = delete;

private:
  std::optional<std::string> old_;
};

// What the build does (harness/peer-programs/CMakeLists.txt): a new file renamed into place.
void rebuild(const fs::path& file, const std::string& content) {
  write_text(fs::path(file.string() + ".tmp"), content);
  fs::permissions(fs::path(file.string() + ".tmp"), fs::perms::owner_all);
  fs::rename(fs::path(file.string() + ".tmp"), file);
}

std::string fake_go(const std::string& version) {
  return "#!/bin/sh\necho 'go peer " + version + "'\n";
}

const harness::PeerInfo* find(const std::vector<std::unique_ptr<harness::Peer>>& peers,
                              const std::string& name) {
  for (const auto& p : peers)
    if (p->info().name == name)
      return &p->info();
  return nullptr;
}

TEST(PeerPrograms, APinKeepsWhatTheRunStartedWithThroughARebuild) {
  const ScratchDir work;
  const fs::path build = work / "build", pinned = work / "run" / "inputs" / "peer-programs";
  fs::create_directories(build / "go-cache");
  rebuild(build / "tlspeer-go", fake_go("v1"));
  write_text(build / "tlspeer.jsa.stamp", "");
  write_text(build / "tlspeer-go.tmp", "half written");
  const ProgramsDir env(build);

  EXPECT_EQ(harness::pin_peer_programs(pinned), pinned);
  rebuild(build / "tlspeer-go", fake_go("v2"));

  EXPECT_EQ(read_text(pinned / "tlspeer-go"), fake_go("v1"));
  EXPECT_FALSE(fs::exists(pinned / "go-cache"));
  EXPECT_FALSE(fs::exists(pinned / "tlspeer.jsa.stamp"));
  EXPECT_FALSE(fs::exists(pinned / "tlspeer-go.tmp"));
  // The run's peers run the pinned program: the go peer reports the version it was pinned at.
  const auto peers = harness::load_peers({}, pinned);
  const auto* go = find(peers, "go");
  ASSERT_NE(go, nullptr);
  EXPECT_FALSE(go->unavailable) << *go->unavailable;
  EXPECT_EQ(go->version, "go peer v1");
  const auto* fresh = find(harness::load_peers(), "go");
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->version, "go peer v2");
}

TEST(PeerPrograms, AcrossFilesystemsThePinIsACopy) {
  const ScratchDir work;
  const fs::path shm = "/dev/shm";
  struct stat a {
  }, b{};
  if (::stat(shm.c_str(), &a) != 0 || ::stat(work.path().c_str(), &b) != 0 || a.st_dev == b.st_dev)
    GTEST_SKIP() << "no second filesystem (/dev/shm) to pin across";
  const fs::path build = shm / ("tlsmatrix-pin-test-" + std::to_string(::getpid()));
  fs::create_directories(build);
  rebuild(build / "tlspeer-go", fake_go("v1"));
  const ProgramsDir env(build);
  const fs::path pinned = work / "pinned";
  EXPECT_EQ(harness::pin_peer_programs(pinned), pinned);
  rebuild(build / "tlspeer-go", fake_go("v2"));
  EXPECT_EQ(read_text(pinned / "tlspeer-go"), fake_go("v1"));
  EXPECT_EQ(fs::status(pinned / "tlspeer-go").permissions() & fs::perms::owner_exec,
            fs::perms::owner_exec);
  fs::remove_all(build);
}

TEST(PeerPrograms, NoProgramsFolderNothingToPin) {
  const ScratchDir work;
  const ProgramsDir env(work / "never-built");
  EXPECT_EQ(harness::pin_peer_programs(work / "pinned"), work / "never-built");
  EXPECT_FALSE(fs::exists(work / "pinned"));
}

} // namespace

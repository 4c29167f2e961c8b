// A PKI directory taken whole: read under its shared lock, checked against manifest.json, copied.
#include "pki/snapshot.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "common/dir_lock.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/files.hpp"
#include "pki/certificate.hpp"
#include "pki/digest.hpp"
#include "pki/manifest.hpp"

namespace pki {
using common::DirLock;
using common::LockMode;
using common::private_mode;
using common::public_mode;
using common::TempDir;
using common::write_new_file;
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using tlsmatrix::Errc;
using tlsmatrix::Error;

// What a manifest says about the files of its directory.
struct Listing {
  struct File {
    std::string name;
    bool secret = false; // a key or a PKCS#12 file: copied 0600
  };
  std::vector<File> files;                         // every file it names, manifest.json first
  std::map<std::string, std::string> sha256;       // its file_sha256 (empty: an older manifest)
  std::map<std::string, std::string> fingerprints; // certificate file -> sha256_fingerprint
  [[nodiscard]] bool names(const std::string& file) const {
    return std::any_of(files.begin(), files.end(), [&](const File& f) { return f.name == file; });
  }
};

Listing read_listing(const std::string& text, const fs::path& manifest) {
  const Manifest m = parse_manifest(text, manifest);
  Listing listing;
  listing.files.push_back({"manifest.json", false});
  // A null name: an entity without that file (no PKCS#12 for a mismatched key).
  auto list = [&](const std::optional<std::string>& name, bool secret) {
    if (name && !listing.names(*name))
      listing.files.push_back({*name, secret});
  };
  for (const auto& [kind, name] : m.files)
    list(name, false);
  for (const auto& [entity, e] : m.entities) {
    for (const auto& [kind, name] : e.files)
      list(name, kind == "key" || kind == "p12");
    if (!e.sha256_fingerprint.empty())
      listing.fingerprints[e.file("cert")] = e.sha256_fingerprint;
  }
  listing.sha256 = m.file_sha256;
  return listing;
}

// The content of `name` in the directory open as `dir_fd` (`dir` names it in messages), or
// nullopt when there is no such file.
std::optional<std::string> read_at(int dir_fd, const std::string& name, const fs::path& dir) {
  const common::Fd file(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) {
    if (errno == ENOENT)
      return std::nullopt;
    throw Error(Errc::io, "cannot read " + (dir / name).string() + ": " + std::strerror(errno));
  }
  std::string data;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(file.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw Error(Errc::io, "cannot read " + (dir / name).string() + ": " + std::strerror(errno));
    if (n == 0)
      return data;
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

// A PKI directory as read in one go under its lock.
struct Taken {
  Listing listing;
  std::map<std::string, std::optional<std::string>> files; // by name; nullopt: missing
  std::string problem;     // the first thing that does not match the manifest ("" = none)
  std::string verified_by; // see PkiSnapshot
};

std::string check_file(const Listing& listing, const std::string& name,
                       const std::optional<std::string>& content, const fs::path& dir) {
  if (!content)
    return (dir / name).string() + " is missing (manifest.json names it)";
  if (!listing.sha256.empty()) {
    const auto expected = listing.sha256.find(name);
    if (expected == listing.sha256.end())
      return (dir / "manifest.json").string() + " has no /file_sha256 entry for " + name;
    const std::string found = sha256_hex(*content);
    if (found != expected->second)
      return (dir / name).string() + ": expected SHA-256 " + expected->second +
             " (manifest.json /file_sha256), found " + found;
    return {};
  }
  if (const auto expected = listing.fingerprints.find(name);
      expected != listing.fingerprints.end()) {
    std::string found;
    try {
      found = Certificate::from_pem(*content, (dir / name).string()).sha256_fingerprint();
    } catch (const Error& e) {
      return (dir / name).string() + ": not a certificate: " + e.what();
    }
    if (found != expected->second)
      return (dir / name).string() + ": expected the certificate with SHA-256 fingerprint " +
             expected->second + " (manifest.json), found " + found;
  }
  return {};
}

// Reads manifest.json and every file it names from the directory open as `dir_fd`, and checks
// them. The caller holds the directory's lock.
Taken take(int dir_fd, const fs::path& dir) {
  auto manifest = read_at(dir_fd, "manifest.json", dir);
  if (!manifest)
    throw Error(Errc::invalid_input,
                "no PKI at " + dir.string() + ": " + (dir / "manifest.json").string() +
                    " does not exist (run `tlsmatrix pki generate --out " + dir.string() + "`)");
  Taken t;
  t.listing = read_listing(*manifest, dir / "manifest.json");
  t.files["manifest.json"] = std::move(manifest);
  for (const auto& f : t.listing.files)
    if (!t.files.contains(f.name))
      t.files[f.name] = read_at(dir_fd, f.name, dir);
  t.verified_by = t.listing.sha256.empty() ? "certificate fingerprints" : "file digests";
  for (const auto& f : t.listing.files)
    if (f.name != "manifest.json" && t.problem.empty())
      t.problem = check_file(t.listing, f.name, t.files[f.name], dir);
  if (t.problem.empty() && t.listing.sha256.empty()) {
    // Without digests the manifest vouches for the certificates only: the rest must at least
    // read the same twice.
    for (const auto& f : t.listing.files)
      if (t.problem.empty() && read_at(dir_fd, f.name, dir) != t.files[f.name])
        t.problem = (dir / f.name).string() + " changed while it was read";
  }
  return t;
}

std::string fingerprint(const Taken& t) {
  std::map<std::string, std::string> digests;
  for (const auto& [name, content] : t.files)
    digests[name] = sha256_hex(content.value_or(""));
  return content_fingerprint(digests);
}

// Waits until nothing in `dir` has changed for `quiet`, at most `limit`: a program that writes
// into a PKI directory without taking its lock is given the time to finish. An event source with
// a deadline, not a guess: any change restarts the quiet period.
void wait_until_quiet(const fs::path& dir, std::chrono::milliseconds quiet,
                      std::chrono::milliseconds limit) {
  const common::Fd watch(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (watch.get() < 0 ||
      ::inotify_add_watch(watch.get(), dir.c_str(),
                          IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |
                              IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF) < 0)
    return;
  const auto end = Clock::now() + limit;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left <= std::chrono::milliseconds::zero())
      return;
    pollfd p{watch.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min(quiet, left).count()));
    if (ready == 0 || (ready < 0 && errno != EINTR))
      return;
    char events[4096];
    while (::read(watch.get(), events, sizeof events) > 0) {
    }
  }
}

} // namespace

PkiSnapshot snapshot_pki(const fs::path& source, const fs::path& target, int attempts) {
  std::string problem;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    {
      const auto lock = DirLock::lock_current(source, LockMode::shared);
      if (!lock)
        throw Error(Errc::invalid_input, "no PKI at " + source.string() +
                                             ": the directory does not exist (run `tlsmatrix pki "
                                             "generate --out " +
                                             source.string() + "`)");
      const Taken t = take(lock->fd(), source);
      if (t.problem.empty()) {
        TempDir staging(target);
        for (const auto& f : t.listing.files)
          write_new_file(staging.path() / f.name, *t.files.at(f.name),
                         f.secret ? private_mode : public_mode);
        if (::rename(staging.path().c_str(), target.c_str()) != 0)
          throw Error(Errc::io, "cannot create " + target.string() + ": " + std::strerror(errno));
        staging.release();
        return {target, fingerprint(t), t.verified_by};
      }
      problem = t.problem;
    }
    if (attempt < attempts)
      wait_until_quiet(source, std::chrono::milliseconds(100), std::chrono::seconds(5));
  }
  throw Error(Errc::unstable_input,
              "the PKI at " + source.string() + " does not hold together: " + problem + " (" +
                  std::to_string(attempts) +
                  " copies tried). A file was changed after `tlsmatrix pki generate` wrote it, or "
                  "a program that does not take the directory's lock is changing it: regenerate "
                  "the PKI, or wait for that program to finish");
}

PkiSnapshot verify_pki(const fs::path& dir) {
  const auto lock = DirLock::lock_current(dir, LockMode::shared);
  if (!lock)
    throw Error(Errc::invalid_input,
                "no PKI at " + dir.string() + ": the directory does not exist");
  const Taken t = take(lock->fd(), dir);
  if (!t.problem.empty())
    throw Error(Errc::unstable_input,
                "the PKI at " + dir.string() + " does not match its manifest.json: " + t.problem);
  return {dir, fingerprint(t), t.verified_by};
}

} // namespace pki

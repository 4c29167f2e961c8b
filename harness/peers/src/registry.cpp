// The registry: which peers a run has (ours, the shipped definitions, a user's), where their
// definitions and compiled programs are, and a run's hold on those programs.
#include "harness/peers/registry.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "cli_classifier.hpp"
#include "cli_peer.hpp"
#include "common/error.hpp"

namespace harness {

namespace fs = std::filesystem;
using tlsmatrix::Errc;
using tlsmatrix::Error;

std::unique_ptr<Peer> load_cli_peer(const std::filesystem::path& definition) {
  return cli_peer::make_cli_peer(cli_peer::parse_definition(definition));
}

SideObservation classify_peer_output(const std::filesystem::path& definition, Side role,
                                     const ProcessResult& result, const TlsConfig& config) {
  const cli_peer::Definition d = cli_peer::parse_definition(definition);
  const bool server = role == Side::server;
  return cli_peer::classify(d, server ? d.server : d.client, server, config, result);
}

std::filesystem::path default_peers_dir() {
  // Installed next to the binary's share dir in a real install; the source tree while developing.
  if (const char* env = std::getenv("TLSMATRIX_PEERS_DIR"))
    return env;
  return TLSMATRIX_PEERS_DIR;
}

std::filesystem::path peer_programs_dir() {
  const char* env = std::getenv("TLSMATRIX_PEER_PROGRAMS_DIR");
  return env ? env : TLSMATRIX_PEER_PROGRAMS_DIR;
}

std::filesystem::path pin_peer_programs(const std::filesystem::path& into) {
  const fs::path from = peer_programs_dir();
  std::error_code ec;
  if (!fs::is_directory(from, ec))
    return from;
  fs::create_directories(into, ec);
  if (ec)
    throw Error(Errc::io, "cannot create " + into.string() + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    const std::string name = entry.path().filename().string();
    // Build intermediates (the Go cache, the Java classes, stamps, scripts, a half-written .tmp)
    // are not what a peer runs.
    if (!entry.is_regular_file(ec) || name.ends_with(".tmp") || name.ends_with(".stamp") ||
        name.ends_with(".cmake") || name.ends_with(".sh"))
      continue;
    const fs::path to = into / name;
    // A hard link pins the file's current content for free: the build replaces its outputs by
    // renames, never in place (harness/peer-programs/CMakeLists.txt). Across filesystems, a copy.
    if (::link(entry.path().c_str(), to.c_str()) == 0)
      continue;
    if (!fs::copy_file(entry.path(), to, fs::copy_options::overwrite_existing, ec))
      throw Error(Errc::io, "cannot pin the peer program " + entry.path().string() + " in " +
                                into.string() + ": " + ec.message());
  }
  if (ec)
    throw Error(Errc::io, "cannot read " + from.string() + ": " + ec.message());
  return into;
}

std::vector<std::unique_ptr<Peer>> load_peers(const std::vector<std::filesystem::path>& extra_dirs,
                                              const std::filesystem::path& programs) {
  std::vector<std::unique_ptr<Peer>> peers;
  peers.push_back(make_local_peer());
  std::vector<std::filesystem::path> dirs{default_peers_dir()};
  dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
  for (const auto& dir : dirs) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().extension() == ".json")
        files.push_back(e.path());
    if (ec)
      throw Error(Errc::io,
                  "cannot read peer definitions in " + dir.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto peer = cli_peer::make_cli_peer(
          cli_peer::parse_definition(f, programs.empty() ? peer_programs_dir() : programs));
      for (const auto& p : peers)
        if (p->info().name == peer->info().name)
          throw Error(
              Errc::invalid_input,
              f.string() + ": /name: a peer named \"" + peer->info().name +
                  "\" is already defined" +
                  (p->info().definition.empty() ? "" : " by " + p->info().definition.string()));
      peers.push_back(std::move(peer));
    }
  }
  return peers;
}

} // namespace harness

// The peers of a run: our own endpoint ("local"), the shipped definitions (harness/peers/*.json)
// and a user's, and the compiled peer programs they run.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "harness/model/observation.hpp"
#include "harness/model/tls_config.hpp"
#include "harness/peers/peer.hpp"
#include "harness/process/process.hpp"

namespace harness {

// The built-in peer over our own endpoints.
[[nodiscard]] std::unique_ptr<Peer> make_local_peer();
// A data-defined peer from a JSON definition (strict; errors name file and pointer).
[[nodiscard]] std::unique_ptr<Peer> load_cli_peer(const std::filesystem::path& definition);
// "local", every shipped definition, then every *.json of `extra_dirs` (a name defined twice is
// an error). `{peer_programs}` in a definition's program is `programs` (empty:
// peer_programs_dir()).
[[nodiscard]] std::vector<std::unique_ptr<Peer>>
load_peers(const std::vector<std::filesystem::path>& extra_dirs = {},
           const std::filesystem::path& programs = {});
// Where the compiled peer programs (Go, Java) are: TLSMATRIX_PEER_PROGRAMS_DIR, else the build
// tree's harness/peer-programs.
[[nodiscard]] std::filesystem::path peer_programs_dir();
// A run's own hold on the compiled peer programs: every file of peer_programs_dir() hard-linked
// (copied across filesystems) into `into`, so a rebuild during the run — which replaces them by
// renames — leaves the run on the programs it started with. Returns `into`, or peer_programs_dir()
// when that does not exist (nothing to pin). Throws tlsmatrix::Error(Errc::io).
[[nodiscard]] std::filesystem::path pin_peer_programs(const std::filesystem::path& into);
// Where the shipped peer definitions are.
[[nodiscard]] std::filesystem::path default_peers_dir();

// Classifies a finished peer process's output by its definition's rules (for tests and tools).
[[nodiscard]] SideObservation classify_peer_output(const std::filesystem::path& definition,
                                                   Side role, const ProcessResult& result,
                                                   const TlsConfig& config = {});

} // namespace harness

// The output classifier: a finished peer process's output, by its definition's rules, as a
// SideObservation (outcome, phase, canonical reason, alerts, verify error, peer identity).
// Private to the peers module.
#pragma once

#include "cli_definition.hpp"
#include "harness/model/observation.hpp"
#include "harness/model/tls_config.hpp"
#include "harness/process/process.hpp"

namespace harness::cli_peer {

// `role` is the definition's server or client role; `is_server` says which.
[[nodiscard]] SideObservation classify(const Definition& d, const RoleDef& role, bool is_server,
                                       const TlsConfig& config, const ProcessResult& r);

} // namespace harness::cli_peer

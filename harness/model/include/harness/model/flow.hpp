// Flow assertions (`expect.flow`): a sequence pattern over a case's wire trace, as a scenario
// holds it (the matcher is grading/flow_match.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "harness/wire/trace.hpp"

namespace harness {

// One alternative of a step: who sent what.
struct FlowAtom {
  enum class Kind {
    invalid,
    message, // a handshake message by its trace name ("ClientHello", "Finished", …)
    change_cipher_spec,
    alert, // alerts: empty = any description
    application_data,
    close,     // the side closed its TCP direction (FIN) or reset the connection
    reset,     // the side reset the connection (RST)
    encrypted, // a protected record that could not be decrypted
    malformed,
    other, // "Heartbeat", "SSLv2ClientHello"
  };
  wire::Direction from = wire::Direction::client_to_server;
  Kind kind = Kind::invalid;
  std::string name;                // message / other: the trace name
  std::vector<std::string> alerts; // alert descriptions ("certificate_expired"); empty: any
};

// "C: ClientHello", "S: CertificateRequest?", "C: alert(close_notify) | C: close", "...".
struct FlowStep {
  std::string text;                   // as written, for messages
  std::vector<FlowAtom> alternatives; // one of them must match one trace event
  bool optional = false;              // trailing '?'
  bool any = false;                   // "...": zero or more events of any kind
};

struct Flow {
  std::vector<FlowStep> steps;
};

// The RFC 8446 alert names ("bad_certificate", …), and the error for a name not among them.
[[nodiscard]] const std::set<std::string>& alert_names();
[[nodiscard]] std::string unknown_alert_message(const std::string& name);

// Parses one step; nullopt and `error` set when it is not valid (unknown side, message or alert
// name, empty alternative).
[[nodiscard]] std::optional<FlowStep> parse_flow_step(std::string_view text, std::string& error);

} // namespace harness

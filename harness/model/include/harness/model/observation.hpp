// What one side of a case really did, and the verdict that compares a case with its expectation.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

#include "harness/model/reasons.hpp"

namespace harness {

enum class TlsVersion { invalid, tls12, tls13 };
enum class Side { invalid, client, server };

[[nodiscard]] std::string_view to_string(TlsVersion v); // "1.2", "1.3"
[[nodiscard]] std::string_view to_string(Side s);       // "client", "server"

// How a side ended.
enum class Outcome {
  invalid,
  completed, // handshake done and the protected resource exchanged
  rejected,  // this side refused the peer (its own verification failed, or policy)
  error,     // this side failed for another reason (alert received, reset, unexpected EOF, …)
  timeout,   // no end within the case's deadline
  // this side refused its own identity or configuration before any connection (a key that does
  // not match its certificate, a digest or key too weak for its policy, a key type or option it
  // does not support): an observation about the stack, never a fault of the harness
  refused,
};
// Where a side ended.
enum class Phase { invalid, setup, tcp, handshake, first_read, application_data, done };

[[nodiscard]] std::string_view to_string(Outcome o);
[[nodiscard]] std::string_view to_string(Phase p);

// One alert seen by a side (sent by it or received from the peer).
struct AlertEvent {
  bool sent = false; // true: this side sent it; false: it received it
  bool fatal = true;
  int description = 0;                    // RFC 8446 §6 AlertDescription
  [[nodiscard]] std::string name() const; // wire::alert_name: "bad_certificate", …
};

// What a side said of itself when the evidence said otherwise (reconcile.hpp): its claim, kept as
// an observation about the stack or its configuration.
struct OverruledClaim {
  Outcome outcome = Outcome::invalid;              // what the side claimed
  std::string reason;                              // … and why
  ReasonSource reason_source = ReasonSource::none; // … and where that came from
  // A claimed rejection with the resource delivered, or a claimed completion after sending a
  // fatal alert (not: an error reported after the resource came through).
  bool conflict = false;
  std::string note; // "printed verify error 20 (unknown_ca) but continued: …"
};

struct SideObservation {
  std::string peer; // "local", "openssl", …
  Outcome outcome = Outcome::invalid;
  Phase phase = Phase::invalid;
  std::optional<int> exit_code;    // external programs only
  std::optional<int> verify_error; // X509_V_ERR_* when this side's verification failed
  std::string error_text;          // the raw error lines, as the side said them
  std::string reason;              // canonical (expired, unknown_ca, …), "unmapped" or ""
  ReasonSource reason_source = ReasonSource::none; // where `reason` came from
  std::vector<AlertEvent> alerts;
  std::string peer_identity;      // what the server saw of the client ("anonymous" for none)
  std::string negotiated_version; // "TLSv1.3"
  std::string cipher;
  std::chrono::microseconds elapsed{0};
  // This side's own record of the protected resource: as a server it sent it (or echoed the
  // request), as a client it received it (or the echo). A record, not a verdict: see reconcile().
  bool resource = false;
  std::optional<OverruledClaim> overruled; // set by reconcile()
};

// A side refused its own identity or configuration before any connection (Outcome::refused):
// thrown by whatever starts it, caught by the runner, which records `observation` and grades the
// case "refused" — an observation about the stack, not a fault of the harness. To anyone else
// (`tlsmatrix serve`, `connect`) it is the invalid input it is.
class SetupRefusal : public tlsmatrix::Error {
public:
  SetupRefusal(Side side, SideObservation observation)
      : tlsmatrix::Error(tlsmatrix::Errc::invalid_input,
                         observation.reason + ": " + observation.error_text),
        side_(side),
        observation_(std::move(observation)) {}
  [[nodiscard]] Side side() const { return side_; }
  [[nodiscard]] const SideObservation& observation() const { return observation_; }

private:
  Side side_;
  SideObservation observation_;
};

} // namespace harness

// Private to the endpoint module: what our server and client share on one connection — the
// non-blocking socket helpers, OpenSSL I/O calls driven to a deadline, and the Recorder that turns
// what the calls and callbacks reported into the side's SideObservation.
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>

#include "common/fd.hpp"
#include "harness/model/observation.hpp"
#include "harness/model/reasons.hpp"
#include "tls_context.hpp"

namespace harness::tls {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using common::Fd;

// How long a side waits, after it is done, for the peer to close too (see close_gracefully).
constexpr auto linger_limit = 1000ms;
// … and after an echo server's echo (it closes only after our close_notify, at once).
constexpr auto echo_linger_limit = 250ms;
constexpr std::size_t max_message = 1 << 20;
[[nodiscard]] std::string errno_text(int e);

// A write to a socket the peer has closed raises SIGPIPE, which kills the process by default.
// OpenSSL's socket BIO uses write(), not send(MSG_NOSIGNAL), so while a connection runs this
// thread blocks SIGPIPE, and any SIGPIPE it raised is consumed before the mask is restored: the
// process's signal dispositions stay untouched.
class SigpipeBlock {
public:
  SigpipeBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      const timespec zero{};
      while (sigtimedwait(&set_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

private:
  sigset_t set_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

// True when `fd` is ready for `events` (or has an error for the next call to report) before the
// deadline; false when the deadline passed.
[[nodiscard]] bool wait_for(int fd, short events, Clock::time_point deadline);

void set_nodelay(int fd);

// Half-closes, then reads (and discards) until the peer closes or a short linger passes. Closing
// a socket with unread data makes the kernel send RST, and an RST can overtake our alert: the
// peer would see "connection reset" instead of the reason.
void close_gracefully(Fd& fd, Clock::time_point deadline);

// One OpenSSL I/O call driven to completion on a non-blocking socket, bounded by the deadline.
struct Step {
  bool ok = false;
  bool timed_out = false;
  int ret = 0;
  int ssl_error = SSL_ERROR_NONE;
  int sys_errno = 0;
};

template <class Op> Step drive(SSL* ssl, int fd, Clock::time_point deadline, Op op) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int r = op();
    if (r > 0)
      return {true, false, r, SSL_ERROR_NONE, 0};
    const int saved_errno = errno;
    const int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (!wait_for(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        return {false, true, r, e, 0};
      continue;
    }
    return {false, false, r, e, saved_errno};
  }
}

// Sends close_notify (SSL_shutdown returns 0 once it is sent and the peer's is still to come).
bool send_close_notify(SSL* ssl, int fd, Clock::time_point deadline);

// The peer's certificate subject as our endpoints report it ("anonymous" for none).
[[nodiscard]] std::string peer_identity(SSL* ssl);

// Builds the observation of one connection from what the I/O calls and callbacks reported.
class Recorder {
public:
  Recorder(Side side, bool verifies_peer)
      : side_(side), verifies_peer_(verifies_peer), started_(Clock::now()) {
    obs_.peer = "local";
  }

  tls::ConnectionLog& log() { return log_; }
  [[nodiscard]] Clock::time_point started() const { return started_; }
  void note(std::string line) { lines_.push_back(std::move(line)); }

  void tcp_failure(bool timed_out, const std::string& text) {
    obs_.phase = Phase::tcp;
    obs_.outcome = timed_out ? Outcome::timeout : Outcome::error;
    if (!timed_out)
      obs_.reason = "unmapped";
    note(text);
  }

  // An I/O call failed in `phase`: decide the outcome and the reason.
  void failed(SSL* ssl, const Step& step, std::string_view what, Phase phase,
              std::chrono::milliseconds timeout) {
    obs_.phase = phase;
    const auto errors = tls::drain_errors();
    std::string line = std::string(what) + ": ";
    if (step.timed_out) {
      line += "timed out (" + std::to_string(timeout.count()) + " ms for the whole connection)";
    } else {
      line += tls::ssl_error_name(step.ssl_error);
      if (step.ssl_error == SSL_ERROR_SYSCALL)
        line += step.sys_errno != 0 ? ": " + errno_text(step.sys_errno) : ": unexpected EOF";
      if (step.ssl_error == SSL_ERROR_ZERO_RETURN)
        line += ": the peer sent close_notify";
    }
    if (!errors.text.empty())
      line += ": " + errors.text;
    note(line);
    if (step.timed_out) {
      obs_.outcome = Outcome::timeout;
      return;
    }
    classify(ssl, errors, step);
  }

  void completed(const std::string& peer_identity) {
    obs_.outcome = Outcome::completed;
    obs_.resource = true; // server: the response was sent; client: it (or the echo) came back
    obs_.phase = Phase::done;
    obs_.reason.clear();
    obs_.reason_source = ReasonSource::none;
    if (side_ == Side::server)
      obs_.peer_identity = peer_identity;
  }

  // Everything else (resource missing from a response, a request that never came) is an error
  // that no alert explains.
  void plain_error(Phase phase, const std::string& text) {
    obs_.outcome = Outcome::error;
    obs_.phase = phase;
    obs_.reason = "unmapped";
    obs_.reason_source = ReasonSource::none;
    note(text);
  }

  SideObservation finish(SSL* ssl) {
    obs_.alerts = log_.alerts;
    if (ssl != nullptr) {
      // A cipher exists once the ServerHello is decided: before that the version would only be
      // what this side offered.
      const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
      if (cipher == nullptr)
        cipher = SSL_get_pending_cipher(ssl); // chosen, handshake unfinished
      if (cipher != nullptr) {
        obs_.negotiated_version = SSL_get_version(ssl);
        obs_.cipher = SSL_CIPHER_get_name(cipher);
      }
      if (side_ == Side::server && obs_.peer_identity.empty() && !log_.peer_leaf_subject.empty())
        obs_.peer_identity = log_.peer_leaf_subject;
    }
    std::string text;
    for (const auto& l : lines_)
      text += (text.empty() ? "" : "\n") + l;
    obs_.error_text = std::move(text);
    obs_.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_);
    return obs_;
  }

private:
  void classify(SSL* ssl, const tls::DrainedErrors& errors, const Step& step) {
    if (verifies_peer_ && log_.verify_error && *log_.verify_error != X509_V_OK) {
      const int code = *log_.verify_error;
      obs_.outcome = Outcome::rejected;
      obs_.verify_error = code;
      obs_.reason = std::string(reason_for_verify_error(code));
      obs_.reason_source =
          obs_.reason == "unmapped" ? ReasonSource::none : ReasonSource::verify_error;
      note("verify error " + std::to_string(code) + " (" + X509_verify_cert_error_string(code) +
           ") at depth " + std::to_string(log_.verify_depth) + ": " + log_.verify_subject);
      // The callback saw the first error; OpenSSL's verdict should be that same one.
      const long result = SSL_get_verify_result(ssl);
      if (result != X509_V_OK && result != code)
        note("SSL_get_verify_result: " + std::to_string(result) + " (" +
             X509_verify_cert_error_string(result) + ")");
      return;
    }
    if (errors.no_client_cert) {
      obs_.outcome = Outcome::rejected;
      obs_.reason = "no_client_cert";
      obs_.reason_source = ReasonSource::output;
      obs_.peer_identity = "anonymous";
      return;
    }
    // Whoever sent the first fatal alert is the side that refused.
    const auto first =
        std::find_if(log_.alerts.begin(), log_.alerts.end(),
                     [](const AlertEvent& a) { return a.fatal && a.description != 0; });
    if (first != log_.alerts.end() && !first->sent) {
      obs_.outcome = Outcome::error;
      obs_.reason = reason_for_alert(first->description);
      obs_.reason_source = ReasonSource::peer_alert;
    } else if (first != log_.alerts.end() && first->description != 80 /* internal_error: ours */) {
      // This side refused the peer for a reason other than certificate verification: no shared
      // version or cipher, a malformed message, …
      obs_.outcome = Outcome::rejected;
      obs_.reason = reason_for_alert(first->description);
      obs_.reason_source = ReasonSource::alert;
    } else if (errors.unexpected_eof || step.ssl_error == SSL_ERROR_ZERO_RETURN ||
               (step.ssl_error == SSL_ERROR_SYSCALL && step.sys_errno == 0)) {
      obs_.outcome = Outcome::error; // the peer closed without an alert
      obs_.reason = "peer_closed";
      obs_.reason_source = ReasonSource::transport;
    } else if (step.ssl_error == SSL_ERROR_SYSCALL && step.sys_errno == ECONNRESET) {
      obs_.outcome = Outcome::error;
      obs_.reason = "reset";
      obs_.reason_source = ReasonSource::transport;
    } else {
      obs_.outcome = Outcome::error;
      obs_.reason = "unmapped";
    }
  }

  Side side_;
  bool verifies_peer_;
  Clock::time_point started_;
  SideObservation obs_;
  tls::ConnectionLog log_;
  std::vector<std::string> lines_;
};

} // namespace harness::tls

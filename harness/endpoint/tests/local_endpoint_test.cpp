// Our own TLS server and client against each other (TLS 1.2 and 1.3), and against the openssl
// CLI as an independent judge, on a PKI issued by the tlsmatrix binary at test time.
#include "harness/endpoint/local_endpoint.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.hpp"
#include "harness/model/reasons.hpp"
#include "harness/process/ports.hpp"
#include "harness/process/process.hpp"
#include "support.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using harness::ClientAuth;
using harness::LocalServer;
using harness::Outcome;
using harness::Phase;
using harness::SideObservation;
using harness::TlsConfig;
using harness::TlsVersion;
using testing_support::ScratchDir;

constexpr int alert_handshake_failure = 40;
constexpr int alert_bad_certificate = 42;
constexpr int alert_unsupported_certificate = 43;
constexpr int alert_certificate_revoked = 44;
constexpr int alert_certificate_expired = 45;
constexpr int alert_unknown_ca = 48;
constexpr int alert_certificate_required = 116;

// A background child whose stdout and stderr we read: for servers that announce readiness on
// stdout (s_server's "ACCEPT host:port", our "READY port"). Killed and reaped on destruction.
class Background {
public:
  explicit Background(std::vector<std::string> argv, const fs::path& cwd = {})
      : argv_(std::move(argv)) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    if (!cwd.empty())
      posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    std::vector<char*> args;
    for (auto& a : argv_)
      args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = ::posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_fd_ = fds[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start " + argv_[0]);
    }
  }
  ~Background() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0)
      ::close(out_fd_);
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  // The first output line that starts with `prefix`; nullopt at EOF or the deadline.
  std::optional<std::string> wait_line(const std::string& prefix,
                                       std::chrono::milliseconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    for (;;) {
      std::istringstream lines(out_);
      for (std::string line; std::getline(lines, line);)
        if (line.rfind(prefix, 0) == 0 && !lines.eof())
          return line;
      if (!read_some(deadline))
        return std::nullopt;
    }
  }
  // Exit code, or -1 when it had to be killed at the deadline. Collects the rest of the output.
  int wait(std::chrono::milliseconds within) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (read_some(deadline)) {
    }
    int status = 0;
    if (std::chrono::steady_clock::now() >= deadline)
      ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  void terminate() const { ::kill(pid_, SIGTERM); }
  [[nodiscard]] const std::string& output() const { return out_; }

private:
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buf[4096];
    const ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0)
      return false;
    out_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string out_;
};

// A temporary directory on a RAM-backed filesystem when there is one. CTest runs every test in
// its own process, each issuing its PKI: ~250 files cost ~0.2 s on disk, a third of that in RAM.
class RamScratchDir {
public:
  RamScratchDir() {
    std::error_code ec;
    const fs::path ram = "/dev/shm";
    const fs::path base = fs::is_directory(ram, ec) && ::access(ram.c_str(), W_OK) == 0
                              ? ram
                              : fs::temp_directory_path();
    std::string tmpl = (base / "tlsmatrix-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed in " + base.string());
    path_ = tmpl;
  }
  ~RamScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  RamScratchDir(const RamScratchDir&) = delete;
  RamScratchDir& operator=(const RamScratchDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

std::string describe(const SideObservation& o) {
  std::string s = std::string(harness::to_string(o.outcome)) +
                  " phase=" + std::string(harness::to_string(o.phase)) +
                  " reason=" + (o.reason.empty() ? "-" : o.reason) +
                  " verify=" + (o.verify_error ? std::to_string(*o.verify_error) : "-") +
                  " alerts=[";
  for (const auto& a : o.alerts)
    s += std::string(a.sent ? " sent:" : " recv:") + a.name() + "(" +
         std::to_string(a.description) + ")";
  s += " ] " + o.negotiated_version + " " + o.cipher;
  if (!o.peer_identity.empty())
    s += " peer=" + o.peer_identity;
  if (!o.error_text.empty())
    s += " error=" + o.error_text;
  return s;
}

bool has_alert(const SideObservation& o, bool sent, int description) {
  for (const auto& a : o.alerts)
    if (a.sent == sent && a.description == description && a.fatal)
      return true;
  return false;
}

// How many fatal alerts this side sent or received.
int fatal_alert_count(const SideObservation& o) {
  int n = 0;
  for (const auto& a : o.alerts)
    n += a.fatal ? 1 : 0;
  return n;
}

struct Exchange {
  SideObservation server;
  SideObservation client;
  std::string response;
};

class LocalEndpointTest : public ::testing::TestWithParam<TlsVersion> {
public:
  static void SetUpTestSuite() {
    scratch_ = std::make_unique<RamScratchDir>();
    pki_ = scratch_->path() / "pki";
    // CTest runs every test in its own process: a seed plus a key cache in the build tree make
    // the per-process PKI cost ~70 ms instead of ~800 ms (RSA keys). Validity is still relative
    // to the real now, so expired stays expired.
    const auto key_cache =
        fs::path(testing_support::tlsmatrix_binary()).parent_path().parent_path() /
        "test-key-cache";
    const auto r =
        testing_support::run({testing_support::tlsmatrix_binary(), "pki", "generate", "--out",
                              pki_.string(), "--formats", "chains", "--seed",
                              "harness-local-endpoint", "--key-cache", key_cache.string(), "-q"},
                             {}, 60s);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { scratch_.reset(); }

protected:
  static fs::path file(const std::string& name) { return pki_ / name; }

  [[nodiscard]] TlsConfig identity(const std::string& entity) const {
    TlsConfig c;
    c.version = GetParam();
    if (!entity.empty()) {
      c.cert = file(entity + ".crt.pem");
      c.key = file(entity + ".key.pem");
      c.chain = file(entity + ".chain.pem"); // leaf + intermediates: the leaf is skipped
    }
    c.trust = file("trust-anchors.pem");
    c.timeout = 5s;
    return c;
  }
  [[nodiscard]] TlsConfig server(const std::string& entity,
                                 ClientAuth auth = ClientAuth::none) const {
    TlsConfig c = identity(entity);
    c.client_auth = auth;
    return c;
  }
  [[nodiscard]] TlsConfig client(const std::string& entity = "") const { return identity(entity); }

  // Our server (in a thread) and our client, one connection.
  static Exchange exchange(const TlsConfig& server_config, const TlsConfig& client_config) {
    LocalServer srv(server_config);
    auto served = std::async(std::launch::async, [&srv] { return srv.serve_one(); });
    Exchange e;
    e.client = harness::run_local_client(client_config, "localhost", srv.port(), &e.response);
    e.server = served.get();
    report(e);
    return e;
  }

  // With TLSMATRIX_TEST_VERBOSE set, every exchange is printed: the observed table.
  static void report(const Exchange& e) {
    if (std::getenv("TLSMATRIX_TEST_VERBOSE") == nullptr)
      return;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::cout << "[observed] " << info->name() << "\n  server: " << describe(e.server)
              << "\n  client: " << describe(e.client) << "\n";
  }

  [[nodiscard]] bool tls13() const { return GetParam() == TlsVersion::tls13; }

  inline static std::unique_ptr<RamScratchDir> scratch_;
  inline static fs::path pki_;
};

// Failures show what both sides observed.
#define TRACE_EXCHANGE(e)                                                                          \
  SCOPED_TRACE("server: " + describe((e).server) + "\n  client: " + describe((e).client))

TEST_P(LocalEndpointTest, OneWayCompletesAnonymously) {
  const auto e = exchange(server("server"), client());
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.client.outcome, Outcome::completed);
  EXPECT_EQ(e.client.phase, Phase::done);
  EXPECT_EQ(e.server.outcome, Outcome::completed);
  EXPECT_EQ(e.server.peer_identity, "anonymous");
  EXPECT_NE(e.response.find("HTTP/1.0 200 OK\r\n"), std::string::npos);
  EXPECT_NE(e.response.find("tlsmatrix-ok client=anonymous\n"), std::string::npos);
  EXPECT_EQ(e.client.negotiated_version, tls13() ? "TLSv1.3" : "TLSv1.2");
  EXPECT_EQ(e.server.negotiated_version, e.client.negotiated_version);
  EXPECT_EQ(e.server.cipher, e.client.cipher);
  EXPECT_EQ(e.client.peer, "local");
  EXPECT_EQ(fatal_alert_count(e.client), 0);
  // Both sides closed with close_notify, and each saw the other's.
  EXPECT_TRUE(e.client.alerts.size() == 2 && e.server.alerts.size() == 2) << describe(e.client);
  EXPECT_GT(e.client.elapsed.count(), 0);
  EXPECT_TRUE(e.client.error_text.empty());
}

// A case whose client refused before it connected: the server stops waiting when told, not at
// its timeout (which would hold the case's slot for all of it).
TEST_P(LocalEndpointTest, ServerStopsWaitingForAClientThatNeverCame) {
  TlsConfig config = server("server");
  config.timeout = 60s;
  LocalServer srv(config);
  auto served = std::async(std::launch::async, [&srv] { return srv.serve_one(); });
  srv.stop_waiting();
  ASSERT_EQ(served.wait_for(30s), std::future_status::ready) << "still waiting for a connection";
  EXPECT_EQ(served.get().outcome, Outcome::timeout);
}

TEST_P(LocalEndpointTest, MutualAuthNamesTheClient) {
  const auto e = exchange(server("server", ClientAuth::require), client("client"));
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.client.outcome, Outcome::completed);
  EXPECT_EQ(e.server.outcome, Outcome::completed);
  EXPECT_EQ(e.server.peer_identity, "/O=tlsmatrix/CN=tlsmatrix client");
  EXPECT_NE(e.response.find("tlsmatrix-ok client=/O=tlsmatrix/CN=tlsmatrix client\n"),
            std::string::npos);
}

TEST_P(LocalEndpointTest, RequestModeWithoutClientCertIsAnonymous) {
  const auto e = exchange(server("server", ClientAuth::request), client());
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.client.outcome, Outcome::completed);
  EXPECT_EQ(e.server.outcome, Outcome::completed);
  EXPECT_EQ(e.server.peer_identity, "anonymous");
}

TEST_P(LocalEndpointTest, RequireModeWithoutClientCertIsRejected) {
  const auto e = exchange(server("server", ClientAuth::require), client());
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.server.outcome, Outcome::rejected);
  EXPECT_EQ(e.server.phase, Phase::handshake);
  EXPECT_EQ(e.server.reason, "no_client_cert");
  EXPECT_EQ(e.server.peer_identity, "anonymous");
  EXPECT_FALSE(e.server.verify_error.has_value());
  EXPECT_EQ(e.client.outcome, Outcome::error);
  if (tls13()) {
    // The client's handshake succeeded; the refusal shows on its first read.
    EXPECT_EQ(e.client.phase, Phase::first_read);
    EXPECT_TRUE(has_alert(e.server, true, alert_certificate_required));
    EXPECT_TRUE(has_alert(e.client, false, alert_certificate_required));
    EXPECT_EQ(e.client.reason, "no_client_cert");
  } else {
    EXPECT_EQ(e.client.phase, Phase::handshake);
    EXPECT_TRUE(has_alert(e.server, true, alert_handshake_failure));
    EXPECT_TRUE(has_alert(e.client, false, alert_handshake_failure));
    EXPECT_EQ(e.client.reason, "handshake_failure");
  }
  EXPECT_TRUE(e.response.empty());
}

TEST_P(LocalEndpointTest, ExpiredServerCertIsRejectedByClient) {
  const auto e = exchange(server("server_expired"), client());
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.client.outcome, Outcome::rejected);
  EXPECT_EQ(e.client.phase, Phase::handshake);
  EXPECT_EQ(e.client.reason, "expired");
  EXPECT_EQ(e.client.verify_error, 10); // X509_V_ERR_CERT_HAS_EXPIRED
  EXPECT_NE(e.client.error_text.find("at depth 0"), std::string::npos);
  EXPECT_TRUE(has_alert(e.client, true, alert_certificate_expired));
  EXPECT_EQ(e.server.outcome, Outcome::error);
  EXPECT_EQ(e.server.phase, Phase::handshake);
  EXPECT_TRUE(has_alert(e.server, false, alert_certificate_expired));
  EXPECT_EQ(e.server.reason, "expired");
}

TEST_P(LocalEndpointTest, UntrustedServerRootIsUnknownCa) {
  const auto e = exchange(server("server_untrusted_root"), client());
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.client.outcome, Outcome::rejected);
  EXPECT_EQ(e.client.reason, "unknown_ca");
  EXPECT_TRUE(has_alert(e.client, true, alert_unknown_ca));
  EXPECT_EQ(e.server.outcome, Outcome::error);
  EXPECT_EQ(e.server.reason, "unknown_ca");
}

TEST_P(LocalEndpointTest, HostnameMismatchIsRejected) {
  const auto e = exchange(server("server_hostname_mismatch"), client());
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.client.outcome, Outcome::rejected);
  EXPECT_EQ(e.client.reason, "hostname_mismatch");
  EXPECT_EQ(e.client.verify_error, 62); // X509_V_ERR_HOSTNAME_MISMATCH
  // OpenSSL has no alert for a wrong name: bad_certificate, which says less than the client knows.
  EXPECT_TRUE(has_alert(e.server, false, alert_bad_certificate));
  EXPECT_EQ(e.server.reason, "bad_certificate");
}

TEST_P(LocalEndpointTest, GoodServerCertVerifiesByIpAddress) {
  TlsConfig c = client();
  c.server_name = "127.0.0.1"; // no SNI; the IP SAN is checked
  const auto e = exchange(server("server"), c);
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.client.outcome, Outcome::completed);
  c.server_name = "127.0.0.2";
  const auto wrong = exchange(server("server"), c);
  EXPECT_EQ(wrong.client.outcome, Outcome::rejected) << describe(wrong.client);
  EXPECT_EQ(wrong.client.reason, "hostname_mismatch");
  EXPECT_EQ(wrong.client.verify_error, 64); // X509_V_ERR_IP_ADDRESS_MISMATCH
}

TEST_P(LocalEndpointTest, WrongEkuServerIsBadPurpose) {
  const auto e = exchange(server("server_wrong_eku"), client());
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.client.outcome, Outcome::rejected);
  EXPECT_EQ(e.client.reason, "bad_purpose");
  EXPECT_EQ(e.client.verify_error, 26); // X509_V_ERR_INVALID_PURPOSE
  EXPECT_TRUE(has_alert(e.server, false, alert_unsupported_certificate));
}

TEST_P(LocalEndpointTest, VerifyOffAcceptsExpiredServerCert) {
  TlsConfig c = client();
  c.verify = false;
  const auto e = exchange(server("server_expired"), c);
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.client.outcome, Outcome::completed);
  EXPECT_FALSE(e.client.verify_error.has_value());
  EXPECT_EQ(e.server.outcome, Outcome::completed);
}

TEST_P(LocalEndpointTest, ExpiredClientCertIsRejectedByServer) {
  const auto e = exchange(server("server", ClientAuth::require), client("client_expired"));
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.server.outcome, Outcome::rejected);
  EXPECT_EQ(e.server.phase, Phase::handshake);
  EXPECT_EQ(e.server.reason, "expired");
  EXPECT_EQ(e.server.verify_error, 10);
  EXPECT_EQ(e.server.peer_identity, "/O=tlsmatrix/CN=tlsmatrix client");
  EXPECT_TRUE(has_alert(e.server, true, alert_certificate_expired));
  EXPECT_EQ(e.client.outcome, Outcome::error);
  EXPECT_EQ(e.client.phase, tls13() ? Phase::first_read : Phase::handshake);
  EXPECT_EQ(e.client.reason, "expired");
}

TEST_P(LocalEndpointTest, UntrustedClientCertIsUnknownCa) {
  const auto e = exchange(server("server", ClientAuth::require), client("client_untrusted_root"));
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.server.outcome, Outcome::rejected);
  EXPECT_EQ(e.server.reason, "unknown_ca");
  EXPECT_TRUE(has_alert(e.server, true, alert_unknown_ca));
  EXPECT_EQ(e.client.outcome, Outcome::error);
  EXPECT_EQ(e.client.reason, "unknown_ca");
}

TEST_P(LocalEndpointTest, RevokedClientCertIsRejectedWithCrlCheck) {
  TlsConfig s = server("server", ClientAuth::require);
  s.crl_check = true;
  s.crls = file("crls.pem");
  const auto e = exchange(s, client("client_revoked"));
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.server.outcome, Outcome::rejected);
  EXPECT_EQ(e.server.reason, "revoked");
  EXPECT_EQ(e.server.verify_error, 23); // X509_V_ERR_CERT_REVOKED
  EXPECT_TRUE(has_alert(e.server, true, alert_certificate_revoked));
  EXPECT_EQ(e.client.reason, "revoked");
  // The same server lets the good client in: the CRLs are loaded, not just "check everything".
  const auto good = exchange(s, client("client"));
  EXPECT_EQ(good.server.outcome, Outcome::completed) << describe(good.server);
  // Without crl_check the revoked certificate passes: the flag is what rejects it.
  const auto unchecked = exchange(server("server", ClientAuth::require), client("client_revoked"));
  EXPECT_EQ(unchecked.server.outcome, Outcome::completed) << describe(unchecked.server);
}

TEST_P(LocalEndpointTest, WrongEkuClientIsBadPurpose) {
  const auto e = exchange(server("server", ClientAuth::require), client("client_wrong_eku"));
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.server.outcome, Outcome::rejected);
  EXPECT_EQ(e.server.reason, "bad_purpose");
  EXPECT_EQ(e.server.reason_source, harness::ReasonSource::verify_error);
  // The client only received OpenSSL's unsupported_certificate: on its own the alert's name;
  // reconcile() reads it with the sender's meaning (the definition's alert_reasons).
  EXPECT_EQ(e.client.reason, "unsupported_certificate");
  EXPECT_EQ(e.client.reason_source, harness::ReasonSource::peer_alert);
}

TEST_P(LocalEndpointTest, KeylogRecordsSecretsOfBothSides) {
  const ScratchDir dir;
  TlsConfig s = server("server");
  TlsConfig c = client();
  s.keylog = dir / "server.keys";
  c.keylog = dir / "client.keys";
  const auto e = exchange(s, c);
  ASSERT_EQ(e.client.outcome, Outcome::completed) << describe(e.client);
  const auto lines = [](const fs::path& path) {
    std::set<std::string> out;
    std::istringstream in(testing_support::read_text(path));
    for (std::string l; std::getline(in, l);)
      out.insert(l);
    return out;
  };
  const auto server_keys = lines(s.keylog);
  // The same secrets on both sides (each side logs them in its own order).
  EXPECT_EQ(server_keys, lines(c.keylog));
  const std::string label = tls13() ? "CLIENT_HANDSHAKE_TRAFFIC_SECRET " : "CLIENT_RANDOM ";
  EXPECT_EQ(std::count_if(server_keys.begin(), server_keys.end(),
                          [&](const std::string& l) { return l.rfind(label, 0) == 0; }),
            1);
  EXPECT_EQ(server_keys.size(), tls13() ? 5u : 1u);
}

// Our endpoints share one OpenSSL context per configuration (harness/endpoint/src/tls_context.hpp):
// the key log must still be each connection's own, and a file rewritten in place must be read
// again.
TEST_P(LocalEndpointTest, SharedContextsKeepKeyLogsApartAndSeeRewrittenFiles) {
  const ScratchDir dir;
  const auto lines = [](const fs::path& path) {
    std::set<std::string> out;
    std::istringstream in(testing_support::read_text(path));
    for (std::string l; std::getline(in, l);)
      out.insert(l);
    return out;
  };
  std::vector<std::set<std::string>> server_keys;
  for (const std::string run : {"a", "b"}) {
    TlsConfig s = server("server");
    TlsConfig c = client();
    s.keylog = dir / (run + ".server.keys");
    c.keylog = dir / (run + ".client.keys");
    const auto e = exchange(s, c);
    ASSERT_EQ(e.client.outcome, Outcome::completed) << describe(e.client);
    server_keys.push_back(lines(s.keylog));
    EXPECT_EQ(server_keys.back(), lines(c.keylog)) << run;
    EXPECT_EQ(server_keys.back().size(), tls13() ? 5u : 1u) << run;
  }
  EXPECT_NE(server_keys[0], server_keys[1]); // two connections, two sets of secrets

  // The same path, now holding the expired certificate (and its key): the client must see it.
  fs::copy_file(file("server_expired.crt.pem"), dir / "leaf.crt.pem");
  fs::copy_file(file("server_expired.key.pem"), dir / "leaf.key.pem");
  TlsConfig s = server("server");
  s.cert = dir / "leaf.crt.pem";
  s.key = dir / "leaf.key.pem";
  s.chain = file("server.chain.pem"); // the same intermediate: only the leaf changes
  const auto before = exchange(s, client());
  EXPECT_EQ(before.client.reason, "expired") << describe(before.client);
  fs::copy_file(file("server.crt.pem"), dir / "leaf.crt.pem", fs::copy_options::overwrite_existing);
  fs::copy_file(file("server.key.pem"), dir / "leaf.key.pem", fs::copy_options::overwrite_existing);
  const auto after = exchange(s, client());
  EXPECT_EQ(after.client.outcome, Outcome::completed) << describe(after.client);
}

// --- The openssl CLI as an independent judge -------------------------------------------------

class OpensslInterop : public LocalEndpointTest {
protected:
  void SetUp() override {
    if (!testing_support::have_program("openssl"))
      GTEST_SKIP() << "openssl CLI not installed";
  }
  [[nodiscard]] std::string version_flag() const { return tls13() ? "-tls1_3" : "-tls1_2"; }

  // s_client against our server: verification on for real (-verify_return_error: s_client only
  // reports a failed verification otherwise), request after the handshake and the response read
  // to the server's close (-ign_eof: in TLS 1.3 the server's refusal comes after the handshake).
  testing_support::CommandResult s_client(std::uint16_t port,
                                          const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {"openssl",
                                     "s_client",
                                     "-connect",
                                     "127.0.0.1:" + std::to_string(port),
                                     version_flag(),
                                     "-CAfile",
                                     file("trust-anchors.pem").string(),
                                     "-verify_return_error",
                                     "-servername",
                                     "localhost",
                                     "-verify_hostname",
                                     "localhost",
                                     "-ign_eof"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing_support::run(argv, std::string(harness::resource_request), 10s);
  }

  // s_server serving the resource as a file (-WWW: GET /tlsmatrix -> ./tlsmatrix), one connection.
  std::unique_ptr<Background> s_server(const std::string& entity, const fs::path& dir,
                                       const std::vector<std::string>& extra = {}) const {
    testing_support::write_text(dir / "tlsmatrix",
                                std::string(harness::resource_marker) + "openssl-s_server\n");
    std::vector<std::string> argv = {"openssl",     "s_server",
                                     "-accept",     "127.0.0.1:0",
                                     "-naccept",    "1",
                                     "-WWW",        version_flag(),
                                     "-cert",       file(entity + ".crt.pem").string(),
                                     "-key",        file(entity + ".key.pem").string(),
                                     "-cert_chain", file("intermediate.crt.pem").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<Background>(argv, dir);
  }

  static std::uint16_t accept_port(Background& server) {
    const auto line = server.wait_line("ACCEPT", 10s);
    if (!line)
      throw std::runtime_error("s_server did not get ready: " + server.output());
    return static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  }
};

TEST_P(OpensslInterop, SClientCompletesAgainstOurServer) {
  LocalServer srv(server("server"));
  auto served = std::async(std::launch::async, [&srv] { return srv.serve_one(); });
  const auto r = s_client(srv.port());
  const auto s = served.get();
  SCOPED_TRACE("server: " + describe(s));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("tlsmatrix-ok client=anonymous"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Verify return code: 0 (ok)"), std::string::npos) << r.out;
  EXPECT_EQ(s.outcome, Outcome::completed);
  EXPECT_EQ(s.negotiated_version, tls13() ? "TLSv1.3" : "TLSv1.2");
}

TEST_P(OpensslInterop, SClientJudgesExpiredServerCertLikeOurClient) {
  LocalServer srv(server("server_expired"));
  auto served = std::async(std::launch::async, [&srv] { return srv.serve_one(); });
  const auto r = s_client(srv.port());
  const auto s = served.get();
  SCOPED_TRACE("server: " + describe(s));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("verify error:num=10:certificate has expired"), std::string::npos)
      << r.out << r.err;
  EXPECT_EQ(r.out.find(std::string(harness::resource_marker)), std::string::npos);
  // Our server saw exactly what it sees from our client.
  EXPECT_EQ(s.outcome, Outcome::error);
  EXPECT_TRUE(has_alert(s, false, alert_certificate_expired));
  EXPECT_EQ(s.reason, "expired");
  const auto ours = exchange(server("server_expired"), client());
  EXPECT_EQ(ours.client.verify_error, 10);
}

TEST_P(OpensslInterop, SClientWithClientCertIsNamedByOurServer) {
  LocalServer srv(server("server", ClientAuth::require));
  auto served = std::async(std::launch::async, [&srv] { return srv.serve_one(); });
  const auto r = s_client(srv.port(), {"-cert", file("client.crt.pem").string(), "-key",
                                       file("client.key.pem").string(), "-cert_chain",
                                       file("intermediate.crt.pem").string()});
  const auto s = served.get();
  SCOPED_TRACE("server: " + describe(s));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("tlsmatrix-ok client=/O=tlsmatrix/CN=tlsmatrix client"), std::string::npos)
      << r.out;
  EXPECT_EQ(s.outcome, Outcome::completed);
}

TEST_P(OpensslInterop, OurClientCompletesAgainstSServer) {
  const ScratchDir dir;
  auto srv = s_server("server", dir.path());
  const auto port = accept_port(*srv);
  std::string response;
  const auto c = harness::run_local_client(client(), "localhost", port, &response);
  SCOPED_TRACE("client: " + describe(c));
  EXPECT_EQ(c.outcome, Outcome::completed);
  EXPECT_NE(response.find("tlsmatrix-ok client=openssl-s_server"), std::string::npos) << response;
  EXPECT_EQ(c.negotiated_version, tls13() ? "TLSv1.3" : "TLSv1.2");
  EXPECT_EQ(srv->wait(10s), 0) << srv->output();
}

TEST_P(OpensslInterop, OurClientRejectsExpiredSServerCert) {
  const ScratchDir dir;
  auto srv = s_server("server_expired", dir.path());
  const auto port = accept_port(*srv);
  const auto c = harness::run_local_client(client(), "localhost", port);
  SCOPED_TRACE("client: " + describe(c));
  EXPECT_EQ(c.outcome, Outcome::rejected);
  EXPECT_EQ(c.reason, "expired");
  EXPECT_EQ(c.verify_error, 10);
  srv->wait(10s);
  EXPECT_NE(srv->output().find("certificate expired"), std::string::npos) << srv->output();
}

TEST_P(OpensslInterop, OurClientWithoutCertAgainstSServerRequiringOne) {
  const ScratchDir dir;
  auto srv = s_server(
      "server", dir.path(),
      {"-Verify", "1", "-verify_return_error", "-CAfile", file("trust-anchors.pem").string()});
  const auto port = accept_port(*srv);
  const auto c = harness::run_local_client(client(), "localhost", port);
  SCOPED_TRACE("client: " + describe(c));
  EXPECT_EQ(c.outcome, Outcome::error);
  if (tls13()) {
    EXPECT_EQ(c.phase, Phase::first_read);
    EXPECT_TRUE(has_alert(c, false, alert_certificate_required));
    EXPECT_EQ(c.reason, "no_client_cert");
  } else {
    EXPECT_EQ(c.phase, Phase::handshake);
    EXPECT_TRUE(has_alert(c, false, alert_handshake_failure));
  }
  srv->wait(10s);
}

std::string version_name(const ::testing::TestParamInfo<TlsVersion>& info) {
  return info.param == TlsVersion::tls13 ? "Tls13" : "Tls12";
}

INSTANTIATE_TEST_SUITE_P(Versions, LocalEndpointTest,
                         ::testing::Values(TlsVersion::tls12, TlsVersion::tls13), version_name);
INSTANTIATE_TEST_SUITE_P(Versions, OpensslInterop,
                         ::testing::Values(TlsVersion::tls12, TlsVersion::tls13), version_name);

// --- Version-specific and configuration cases --------------------------------------------------

class LocalEndpointFixed : public LocalEndpointTest {};

TEST_P(LocalEndpointFixed, Tls12RsaKeyExchangeWithRsaCert) {
  TlsConfig s = server("server_rsa");
  s.cipher_list = "kRSA";
  const auto e = exchange(s, client());
  TRACE_EXCHANGE(e);
  ASSERT_EQ(e.client.outcome, Outcome::completed);
  EXPECT_EQ(e.client.negotiated_version, "TLSv1.2");
  // Independent check: the cipher is one `openssl ciphers kRSA` lists (static RSA key exchange).
  if (testing_support::have_program("openssl")) {
    const auto r = testing_support::run({"openssl", "ciphers", "kRSA"}, {}, 10s);
    std::set<std::string> rsa_kx;
    std::istringstream names(r.out.substr(0, r.out.find_last_not_of("\n") + 1));
    for (std::string n; std::getline(names, n, ':');)
      rsa_kx.insert(n);
    EXPECT_TRUE(rsa_kx.count(e.client.cipher) == 1) << e.client.cipher << " not in " << r.out;
  }
  EXPECT_EQ(e.client.cipher.rfind("ECDHE", 0), std::string::npos);
  EXPECT_EQ(e.client.cipher.rfind("DHE", 0), std::string::npos);
}

TEST_P(LocalEndpointFixed, VersionMismatchIsRefusedByTheServer) {
  TlsConfig s = server("server");
  s.version = TlsVersion::tls13;
  const auto e = exchange(s, client()); // a TLS 1.2-only client
  TRACE_EXCHANGE(e);
  EXPECT_EQ(e.server.outcome, Outcome::rejected);
  EXPECT_EQ(e.server.reason, "protocol_version");
  EXPECT_EQ(e.client.outcome, Outcome::error);
  EXPECT_EQ(e.client.reason, "protocol_version");
  EXPECT_EQ(e.client.phase, Phase::handshake);
}

TEST_P(LocalEndpointFixed, KeyMismatchIsAConfigurationError) {
  for (const auto side : {harness::Side::server, harness::Side::client}) {
    const std::string entity =
        side == harness::Side::server ? "server_key_mismatch" : "client_key_mismatch";
    try {
      if (side == harness::Side::server) {
        const LocalServer srv(server(entity));
      } else {
        (void)harness::run_local_client(client(entity), "localhost", 1);
      }
      ADD_FAILURE() << entity << ": no error";
    } catch (const tlsmatrix::Error& e) {
      EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input);
      const std::string what = e.what();
      EXPECT_NE(what.find("key_mismatch"), std::string::npos) << what;
      EXPECT_NE(what.find(entity + ".key.pem"), std::string::npos) << what;
      EXPECT_NE(what.find(entity + ".crt.pem"), std::string::npos) << what;
    }
  }
}

TEST_P(LocalEndpointFixed, UnreadableFilesAndBadSettingsAreErrors) {
  TlsConfig missing = server("server");
  missing.cert = file("nonexistent.crt.pem");
  try {
    const LocalServer srv(missing);
    ADD_FAILURE() << "no error";
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::io);
    EXPECT_NE(std::string(e.what()).find("nonexistent.crt.pem"), std::string::npos) << e.what();
  }
  TlsConfig not_a_cert = server("server");
  not_a_cert.cert = file("crls.pem");
  EXPECT_THROW(LocalServer{not_a_cert}, tlsmatrix::Error);
  TlsConfig bad_cipher = server("server");
  bad_cipher.cipher_list = "NO-SUCH-CIPHER";
  EXPECT_THROW(LocalServer{bad_cipher}, tlsmatrix::Error);
  EXPECT_THROW(LocalServer{TlsConfig{}}, tlsmatrix::Error); // a server without a certificate
}

TEST_P(LocalEndpointFixed, NothingListeningIsATcpError) {
  std::uint16_t port = 0;
  { port = LocalServer(server("server")).port(); } // bound, then released
  const auto c = harness::run_local_client(client(), "localhost", port);
  EXPECT_EQ(c.outcome, Outcome::error) << describe(c);
  EXPECT_EQ(c.phase, Phase::tcp);
  EXPECT_NE(c.error_text.find("refused"), std::string::npos) << c.error_text;
}

TEST_P(LocalEndpointFixed, ServerTimesOutWithoutAConnection) {
  TlsConfig s = server("server");
  s.timeout = 50ms;
  LocalServer srv(s);
  const auto o = srv.serve_one();
  EXPECT_EQ(o.outcome, Outcome::timeout);
  EXPECT_EQ(o.phase, Phase::tcp);
}

TEST_P(LocalEndpointFixed, ClientTimesOutAgainstASilentServer) {
  // A listener that never speaks TLS: the kernel completes the TCP handshake, nobody answers.
  TlsConfig s = server("server");
  LocalServer silent(s); // never serves
  TlsConfig c = client();
  c.timeout = 100ms;
  const auto o = harness::run_local_client(c, "localhost", silent.port());
  EXPECT_EQ(o.outcome, Outcome::timeout) << describe(o);
  EXPECT_EQ(o.phase, Phase::handshake);
}

INSTANTIATE_TEST_SUITE_P(Tls12, LocalEndpointFixed, ::testing::Values(TlsVersion::tls12),
                         version_name);

// --- Echo servers (TlsConfig::server_echoes) ----------------------------------------------------

// botan tls_server echoes each line it reads and never closes first: our client must count the
// echo of its request as the exchange, say close_notify and close by itself.
class EchoServer : public OpensslInterop {};

TEST_P(EchoServer, BotanTlsServerEchoCompletesAndOurClientClosesFirst) {
  if (!testing_support::have_program("botan"))
    GTEST_SKIP() << "botan is not installed (its tls_server is the echo server under test)";
  harness::EventLoop loop;
  const std::uint16_t port = harness::pick_free_port();
  harness::ProcessSpec spec;
  // NAME.chain.pem: the leaf and its intermediate, in the one file tls_server takes.
  spec.argv = {"botan",
               "tls_server",
               file("server.chain.pem").string(),
               file("server.key.pem").string(),
               "--port=" + std::to_string(port),
               "--max-clients=1"};
  harness::Process botan(loop, spec);
  harness::Readiness ready;
  // Not its "Listening for new connections" line: botan prints it before it binds.
  ready.kind = harness::Readiness::Kind::port;
  ready.port = port;
  ready.deadline = 10s;
  ASSERT_TRUE(botan.wait_ready(ready)) << botan.out_so_far() << botan.err_so_far();

  TlsConfig c = client();
  c.server_echoes = true;
  std::string response;
  const auto started = std::chrono::steady_clock::now();
  const auto o = harness::run_local_client(c, "localhost", port, &response);
  const auto took = std::chrono::steady_clock::now() - started;
  SCOPED_TRACE("client: " + describe(o));
  EXPECT_EQ(o.outcome, Outcome::completed);
  EXPECT_EQ(o.phase, Phase::done);
  EXPECT_EQ(o.negotiated_version, "TLSv1.2");
  EXPECT_TRUE(response.starts_with(harness::echo_marker)) << response;
  EXPECT_LT(took, 2s) << "the client waited for a close that an echo server never makes";
  EXPECT_TRUE(std::any_of(o.alerts.begin(), o.alerts.end(), [](const auto& a) {
    return a.sent && a.description == 0;
  })) << "no close_notify sent";
  // botan's own account: it saw our close_notify and ended by itself (--max-clients=1).
  const auto r = botan.wait(10s);
  EXPECT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Handshake complete, TLS v1.2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Alert: close_notify"), std::string::npos) << r.out << r.err;
}

TEST_P(EchoServer, AnEchoOfSomethingElseIsNotCompletion) {
  // s_server -rev sends every line back reversed and keeps the connection open: an answer, but
  // not the echo of our request, so the client must not complete (it waits until its timeout).
  Background srv({"openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-rev",
                  version_flag(), "-cert", file("server.crt.pem").string(), "-key",
                  file("server.key.pem").string(), "-cert_chain",
                  file("intermediate.crt.pem").string()});
  const auto port = accept_port(srv);
  TlsConfig c = client();
  c.server_echoes = true;
  c.timeout = 1500ms;
  std::string response;
  const auto o = harness::run_local_client(c, "localhost", port, &response);
  SCOPED_TRACE("client: " + describe(o));
  EXPECT_NE(o.outcome, Outcome::completed);
  EXPECT_EQ(o.outcome, Outcome::timeout);
  EXPECT_NE(response.find("0.1/PTTH xirtamslt/ TEG"), std::string::npos)
      << "s_server -rev did not answer as expected: " << response;
  EXPECT_EQ(response.find(harness::echo_marker), std::string::npos) << response;
}

INSTANTIATE_TEST_SUITE_P(Tls12, EchoServer, ::testing::Values(TlsVersion::tls12), version_name);

// --- The CLI verbs ---------------------------------------------------------------------------

class EndpointCli : public LocalEndpointTest {};

TEST_P(EndpointCli, ServeOnceAndConnect) {
  const std::string tls = tls13() ? "1.3" : "1.2";
  const std::string bin = testing_support::tlsmatrix_binary();
  {
    Background srv({bin, "serve", "--pki", pki_.string(), "--identity", "server", "--client-auth",
                    "require", "--tls", tls, "--once"});
    const auto ready = srv.wait_line("READY ", 10s);
    ASSERT_TRUE(ready) << srv.output();
    const std::string target = "localhost:" + ready->substr(6);
    const auto r = testing_support::run(
        {bin, "connect", target, "--pki", pki_.string(), "--identity", "client", "--tls", tls}, {},
        20s);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("outcome   completed"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("tlsmatrix-ok client=/O=tlsmatrix/CN=tlsmatrix client"), std::string::npos)
        << r.out;
    EXPECT_EQ(srv.wait(10s), 0) << srv.output();
    EXPECT_NE(srv.output().find("completed phase=done"), std::string::npos) << srv.output();
  }
  {
    Background srv({bin, "serve", "--pki", pki_.string(), "--identity", "server", "--client-auth",
                    "require", "--tls", tls, "--once"});
    const auto ready = srv.wait_line("READY ", 10s);
    ASSERT_TRUE(ready) << srv.output();
    const auto r = testing_support::run(
        {bin, "connect", "127.0.0.1:" + ready->substr(6), "--pki", pki_.string(), "--tls", tls}, {},
        20s);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.out.find("outcome   error"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(tls13() ? "certificate_required(116)" : "handshake_failure(40)"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(srv.wait(10s), 1) << srv.output();
    EXPECT_NE(srv.output().find("rejected phase=handshake"), std::string::npos) << srv.output();
    EXPECT_NE(srv.output().find("reason=no_client_cert"), std::string::npos) << srv.output();
  }
}

// `connect --trace`: the connection runs through the recording relay and the ladder printed after
// it holds the handshake, decrypted with our client's key log (TLS 1.3: the encrypted flight by
// name). The server is `serve --once`, which must still see a normal connection.
TEST_P(EndpointCli, ConnectTracePrintsTheLadder) {
  const std::string tls = tls13() ? "1.3" : "1.2";
  const std::string bin = testing_support::tlsmatrix_binary();
  Background srv({bin, "serve", "--pki", pki_.string(), "--identity", "server", "--client-auth",
                  "require", "--tls", tls, "--once"});
  const auto ready = srv.wait_line("READY ", 10s);
  ASSERT_TRUE(ready) << srv.output();
  const auto r =
      testing_support::run({bin, "connect", "127.0.0.1:" + ready->substr(6), "--pki", pki_.string(),
                            "--identity", "client", "--tls", tls, "--trace"},
                           {}, 20s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("outcome   completed"), std::string::npos) << r.out;
  std::vector<std::string> order = {" ClientHello -",        "- ServerHello ",
                                    "- CertificateRequest ", " Certificate -",
                                    " CertificateVerify -",  " Finished -"};
  if (tls13())
    order.insert(order.begin() + 2, "- EncryptedExtensions ");
  else
    order.insert(order.begin() + 4, " ClientKeyExchange -");
  std::size_t at = 0;
  for (const auto& step : order) {
    const auto found = r.out.find(step, at);
    ASSERT_NE(found, std::string::npos) << "no \"" << step << "\" after offset " << at << ":\n"
                                        << r.out;
    at = found;
  }
  EXPECT_EQ(r.out.find("(encrypted)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("client (local): completed"), std::string::npos) << r.out;
  EXPECT_EQ(srv.wait(10s), 0) << srv.output();

  // Only loopback targets can be relayed.
  const auto remote = testing_support::run(
      {bin, "connect", "192.0.2.1:443", "--pki", pki_.string(), "--trace"}, {}, 20s);
  EXPECT_EQ(remote.exit_code, 2) << remote.out << remote.err;
  EXPECT_NE(remote.err.find("must be 127.0.0.1 or localhost"), std::string::npos) << remote.err;
}

TEST_P(EndpointCli, ServeRunsUntilSigterm) {
  const std::string bin = testing_support::tlsmatrix_binary();
  Background srv({bin, "serve", "--pki", pki_.string(), "--identity", "server", "--tls",
                  tls13() ? "1.3" : "1.2"});
  const auto ready = srv.wait_line("READY ", 10s);
  ASSERT_TRUE(ready) << srv.output();
  const auto port = static_cast<std::uint16_t>(std::stoi(ready->substr(6)));
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(harness::run_local_client(client(), "localhost", port).outcome, Outcome::completed);
  srv.terminate();
  EXPECT_EQ(srv.wait(10s), 0) << srv.output();
}

TEST_P(EndpointCli, UsageAndFileErrorsHaveTheirExitCodes) {
  const std::string bin = testing_support::tlsmatrix_binary();
  EXPECT_EQ(testing_support::run({bin, "connect", "no-port-here"}, {}, 10s).exit_code, 2);
  EXPECT_EQ(
      testing_support::run({bin, "connect", "localhost:1", "--tls", "1.1"}, {}, 10s).exit_code, 2);
  const auto missing =
      testing_support::run({bin, "serve", "--cert", "/nonexistent/x.pem", "--key", "k"}, {}, 10s);
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_NE(missing.err.find("/nonexistent/x.pem"), std::string::npos) << missing.err;
  const auto mismatch = testing_support::run(
      {bin, "serve", "--pki", pki_.string(), "--identity", "server_key_mismatch", "--once"}, {},
      10s);
  EXPECT_EQ(mismatch.exit_code, 2) << mismatch.err;
  EXPECT_NE(mismatch.err.find("key_mismatch"), std::string::npos) << mismatch.err;
  const auto help = testing_support::run({bin, "connect", "--help"}, {}, 10s);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--no-verify"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Versions, EndpointCli,
                         ::testing::Values(TlsVersion::tls12, TlsVersion::tls13), version_name);

} // namespace

// pcapng captures judged by tshark: clean synthesised TCP (checksums checked, no analysis
// warnings, the stream's bytes), and real relayed handshakes decrypted from the embedded key log.
#include "harness/wire/pcapng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "harness/endpoint/local_endpoint.hpp"
#include "harness/wire/relay.hpp"
#include "pki_fixture.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using harness::ClientAuth;
using harness::RecordedChunk;
using harness::Recording;
using harness::RelayEnd;
using harness::TlsConfig;
using harness::TlsVersion;
using harness::WireEvent;
using harness::WireEventKind;
using Bytes = std::vector<std::uint8_t>;

#define REQUIRE_TSHARK()                                                                           \
  if (!testing_support::have_program("tshark"))                                                    \
  GTEST_SKIP() << "tshark is not installed (Debian package tshark; scripts/setup installs it)"

// tshark with IPv4 and TCP checksum checking on (off by default) and nothing else configured.
std::string tshark(const fs::path& capture, const std::vector<std::string>& args) {
  std::vector<std::string> argv{
      "tshark",        "-n", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-r",
      capture.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = testing_support::run(argv, {}, 60s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// The "Errors" and "Warnings" sections of `tshark -z expert`: empty when tshark found nothing
// wrong (bad checksums, lost segments, window problems, malformed packets …).
std::string expert_complaints(const fs::path& capture) {
  const std::string out = tshark(capture, {"-q", "-z", "expert"});
  std::string complaints;
  bool in_section = false;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("Errors (", 0) == 0 || line.rfind("Warnings (", 0) == 0)
      in_section = true;
    else if (line.rfind("Notes (", 0) == 0 || line.rfind("Chats (", 0) == 0)
      in_section = false;
    if (in_section)
      complaints += line + "\n";
  }
  return complaints;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty())
      out.push_back(line);
  return out;
}

// The TCP flags of every packet, as tshark names them ("SYN", "SYN,ACK", "PSH,ACK", …).
std::vector<std::string> tcp_flags(const fs::path& capture) {
  std::vector<std::string> out;
  for (auto line : split_lines(tshark(capture, {"-T", "fields", "-e", "tcp.flags"}))) {
    const unsigned v = std::stoul(line, nullptr, 16);
    std::string s;
    for (auto [bit, name] :
         {std::pair{0x02U, "SYN"}, std::pair{0x01U, "FIN"}, std::pair{0x04U, "RST"},
          std::pair{0x08U, "PSH"}, std::pair{0x10U, "ACK"}})
      if ((v & bit) != 0)
        s += (s.empty() ? "" : ",") + std::string(name);
    out.push_back(s);
  }
  return out;
}

// What tshark reassembles of each direction of TCP stream 0 (follow,tcp,raw): client's, server's.
std::pair<Bytes, Bytes> followed_stream(const fs::path& capture) {
  const std::string out = tshark(capture, {"-q", "-z", "follow,tcp,raw,0"});
  std::pair<Bytes, Bytes> streams;
  bool body = false;
  for (const auto& line : split_lines(out)) {
    if (line.rfind("Node 1:", 0) == 0) {
      body = true;
      continue;
    }
    if (!body || line.front() == '=')
      continue;
    // Lines of the second node (the server) are indented by a tab.
    const bool server = line.front() == '\t';
    Bytes& to = server ? streams.second : streams.first;
    const std::string hex = server ? line.substr(1) : line;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
      to.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return streams;
}

Bytes text_bytes(std::size_t n, char first) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i)
    b[i] = static_cast<std::uint8_t>(first + static_cast<char>(i % 26));
  return b;
}

// A recording made by hand: what a relay would have recorded of a half-closed exchange.
Recording handmade(std::vector<std::pair<bool, Bytes>> chunks, bool reset_at_end = false) {
  Recording r;
  r.started_at = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
  r.client_port = 40001;
  r.server_port = 45678;
  r.events.push_back({true, WireEventKind::open, 0us, 0});
  r.events.push_back({false, WireEventKind::open, 40us, 0});
  auto t = 100us;
  for (auto& [c2s, bytes] : chunks) {
    r.chunks.push_back({c2s, t, std::move(bytes)});
    t += 50us;
  }
  if (reset_at_end) {
    r.events.push_back({false, WireEventKind::reset, t, r.chunks.size()});
    r.end = RelayEnd::reset;
  } else {
    r.events.push_back({true, WireEventKind::fin, t, r.chunks.size()});
    r.events.push_back({false, WireEventKind::fin, t + 10us, r.chunks.size()});
    r.end = RelayEnd::closed;
  }
  return r;
}

TEST(Pcapng, SynthesisedConnectionIsCleanTcpCarryingTheExactBytes) {
  REQUIRE_TSHARK();
  testing_support::ScratchDir dir;
  // Small and large chunks both ways, one above the 65495-byte segment limit.
  const Bytes a = text_bytes(100, 'a'), b = text_bytes(150000, 'A'), c = text_bytes(5, 'k'),
              d = text_bytes(1, 'z'), e = text_bytes(65495, 'q'), f = text_bytes(3000, 'm');
  const auto r = handmade({{true, a}, {false, b}, {true, c}, {true, e}, {false, d}, {false, f}});
  const auto file = dir / "synthetic.pcapng";
  harness::write_pcapng(file, r, "");

  EXPECT_EQ(expert_complaints(file), "");
  const auto [to_server, to_client] = followed_stream(file);
  Bytes want_up = a, want_down = b;
  want_up.insert(want_up.end(), c.begin(), c.end());
  want_up.insert(want_up.end(), e.begin(), e.end());
  want_down.insert(want_down.end(), d.begin(), d.end());
  want_down.insert(want_down.end(), f.begin(), f.end());
  EXPECT_TRUE(to_server == want_up) << to_server.size() << " bytes";
  EXPECT_TRUE(to_client == want_down) << to_client.size() << " bytes";

  const auto flags = tcp_flags(file);
  ASSERT_GE(flags.size(), 5U);
  EXPECT_EQ(flags[0], "SYN");
  EXPECT_EQ(flags[1], "SYN,ACK");
  EXPECT_EQ(flags[2], "ACK");
  EXPECT_EQ(flags[flags.size() - 3], "FIN,ACK");
  EXPECT_EQ(flags[flags.size() - 2], "FIN,ACK");
  EXPECT_EQ(flags.back(), "ACK");
  const auto packets = split_lines(
      tshark(file, {"-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e",
                    "tcp.srcport", "-e", "tcp.dstport", "-e", "frame.time_epoch"}));
  ASSERT_EQ(packets.size(), flags.size());
  for (const auto& p : packets) // checked and found good (1), not merely unverified (2)
    EXPECT_EQ(p.substr(0, 4), "1\t1\t") << p;
  // The endpoints are the client's and the server's ports, as if there were no relay, and the
  // timestamps come from the recording: the first packet at started_at.
  EXPECT_EQ(packets[0].substr(4), "40001\t45678\t1767225600.000000000");
  EXPECT_EQ(packets[1].substr(4, 12), "45678\t40001\t");
}

// The control experiment for the test above: the checks do see a damaged packet.
TEST(Pcapng, CorruptedPayloadIsCaughtByTheChecksumCheck) {
  REQUIRE_TSHARK();
  testing_support::ScratchDir dir;
  auto bytes = harness::pcapng_capture(handmade({{true, text_bytes(100, 'a')}}), "");
  const std::string marker = "abcdefghij";
  const auto at = std::search(bytes.begin(), bytes.end(), marker.begin(), marker.end());
  ASSERT_NE(at, bytes.end());
  *at = 'X';
  const auto file = dir / "corrupt.pcapng";
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  EXPECT_NE(expert_complaints(file).find("checksum"), std::string::npos) << expert_complaints(file);
}

TEST(Pcapng, ResetEndsTheCaptureWithRstFromTheSideThatReset) {
  REQUIRE_TSHARK();
  testing_support::ScratchDir dir;
  const auto file = dir / "reset.pcapng";
  harness::write_pcapng(file, handmade({{true, text_bytes(10, 'a')}}, true), "");
  const auto flags = tcp_flags(file);
  ASSERT_FALSE(flags.empty());
  EXPECT_EQ(flags.back(), "RST,ACK");
  EXPECT_EQ(split_lines(tshark(
                file, {"-Y", "tcp.flags.reset == 1", "-T", "fields", "-e", "tcp.srcport"}))[0],
            "45678");
  // The RST carries the right sequence number: nothing but the reset itself is remarked upon.
  const auto complaints = expert_complaints(file);
  EXPECT_EQ(complaints.find("previous segment"), std::string::npos) << complaints;
  EXPECT_EQ(complaints.find("checksum"), std::string::npos) << complaints;
}

TEST(Pcapng, RefusedConnectionIsSynThenRst) {
  REQUIRE_TSHARK();
  testing_support::ScratchDir dir;
  Recording r;
  r.started_at = std::chrono::system_clock::now();
  r.client_port = 40002;
  r.server_port = 45679;
  r.events = {{true, WireEventKind::open, 0us, 0}, {false, WireEventKind::refused, 30us, 0}};
  r.end = RelayEnd::refused;
  const auto file = dir / "refused.pcapng";
  harness::write_pcapng(file, r, "");
  EXPECT_EQ(tcp_flags(file), (std::vector<std::string>{"SYN", "RST,ACK"}));
}

TEST(Pcapng, NoClientGivesACaptureWithoutPackets) {
  REQUIRE_TSHARK();
  testing_support::ScratchDir dir;
  Recording r;
  r.started_at = std::chrono::system_clock::now();
  r.server_port = 45680;
  r.end = RelayEnd::no_client;
  const auto file = dir / "empty.pcapng";
  harness::write_pcapng(file, r, "CLIENT_RANDOM 00 00\n");
  EXPECT_EQ(tshark(file, {"-T", "fields", "-e", "frame.number"}), "");
}

TEST(Pcapng, UnwritableFileIsAnIoError) {
  const Recording r;
  EXPECT_THROW(harness::write_pcapng("/nonexistent-dir/x.pcapng", r, ""), tlsmatrix::Error);
}

// --- real handshakes between our endpoints, through the relay -------------------------------

struct Captured {
  harness::SideObservation client;
  harness::SideObservation server;
  fs::path capture;
  fs::path capture_without_keys;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The messages tshark decodes, in wire order: "C:1" is a ClientHello from the client, "S:CCS" a
// ChangeCipherSpec from the server, "S:20" a Finished it could only show by decrypting it.
// Read from PDML, where fields come in packet order.
std::vector<std::string> tls_messages(const fs::path& capture, std::uint16_t server_port) {
  const std::string pdml = tshark(capture, {"-Y", "tls", "-T", "pdml"});
  static const std::regex field(
      R"re(<field name="(tcp\.srcport|tls\.record\.content_type|tls\.handshake\.type)"[^>]*? show="([^"]*)")re");
  std::vector<std::string> out;
  std::string from;
  for (auto it = std::sregex_iterator(pdml.begin(), pdml.end(), field);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    const std::string value = (*it)[2];
    if (name == "tcp.srcport")
      from = value == std::to_string(server_port) ? "S:" : "C:";
    else if (name == "tls.handshake.type")
      out.push_back(from + value);
    else if (value == "20")
      out.push_back(from + "CCS");
    else if (value == "21")
      out.push_back(from + "Alert");
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v)
    s += (s.empty() ? "" : " ") + x;
  return s;
}

// Everything up to the client's Finished (what follows — tickets, data, alerts — varies).
std::vector<std::string> handshake_part(std::vector<std::string> messages) {
  // The last Finished in the handshake: in TLS 1.2 the server's, in TLS 1.3 the client's.
  std::size_t last = 0;
  for (std::size_t i = 0; i < messages.size(); ++i)
    if (messages[i].ends_with(":20"))
      last = i + 1;
  messages.resize(last);
  return messages;
}

class PcapngTls : public ::testing::Test {
protected:
  static fs::path file(const std::string& entity, const std::string& kind) {
    return testing_support::default_pki().file(entity, kind);
  }
  static TlsConfig identity(TlsVersion v, const std::string& entity) {
    TlsConfig c;
    c.version = v;
    if (!entity.empty()) {
      c.cert = file(entity, "cert");
      c.key = file(entity, "key");
      c.chain = file(entity, "chain");
    }
    c.trust = testing_support::default_pki().dir / "trust-anchors.pem";
    c.timeout = 5s;
    return c;
  }

  // Our server and client through a relay; the client writes the key log.
  Captured capture(const TlsConfig& server_config, TlsConfig client_config) {
    client_config.keylog = dir_ / "client.keylog";
    harness::LocalServer srv(server_config);
    auto served = std::async(std::launch::async, [&srv] { return srv.serve_one(); });
    harness::Relay relay(srv.port(), harness::RelayOptions{10s});
    Captured c;
    c.client = harness::run_local_client(client_config, "localhost", relay.port());
    c.server = served.get();
    const Recording& r = relay.wait();
    EXPECT_EQ(r.end, RelayEnd::closed) << r.error_text;
    c.capture = dir_ / "case.pcapng";
    c.capture_without_keys = dir_ / "case-nokeys.pcapng";
    const std::string keylog = read_file(client_config.keylog);
    EXPECT_NE(keylog.find(server_config.version == TlsVersion::tls13 ? "CLIENT_HANDSHAKE_TRAFFIC"
                                                                     : "CLIENT_RANDOM"),
              std::string::npos);
    harness::write_pcapng(c.capture, r, keylog);
    harness::write_pcapng(c.capture_without_keys, r, "");
    server_port_ = r.server_port;
    // To look at them in Wireshark: TLSMATRIX_TEST_CAPTURE_DIR keeps a copy of each capture.
    if (const char* keep = std::getenv("TLSMATRIX_TEST_CAPTURE_DIR")) {
      const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
      fs::copy_file(c.capture, fs::path(keep) / (std::string(info->name()) + ".pcapng"),
                    fs::copy_options::overwrite_existing);
    }
    return c;
  }

  std::vector<std::string> messages(const fs::path& capture) const {
    return tls_messages(capture, server_port_);
  }

  testing_support::ScratchDir dir_;
  std::uint16_t server_port_ = 0;
};

TEST_F(PcapngTls, Tls13HandshakeIsDecryptedFromTheCaptureAlone) {
  REQUIRE_TSHARK();
  const auto c = capture(identity(TlsVersion::tls13, "server"), identity(TlsVersion::tls13, ""));
  ASSERT_EQ(c.client.outcome, harness::Outcome::completed);
  const auto all = messages(c.capture);
  // The ChangeCipherSpecs are TLS 1.3's middlebox compatibility mode (RFC 8446 D.4), on by
  // default in OpenSSL.
  EXPECT_EQ(joined(handshake_part(all)), "C:1 S:2 S:CCS S:8 S:11 S:15 S:20 C:CCS C:20")
      << joined(all);
  EXPECT_EQ(expert_complaints(c.capture), "");
  // Without the Decryption Secrets Block only the plaintext messages are readable.
  EXPECT_EQ(joined(messages(c.capture_without_keys)), "C:1 S:2 S:CCS C:CCS");
}

TEST_F(PcapngTls, Tls13MutualAuthShowsBothCertificates) {
  REQUIRE_TSHARK();
  TlsConfig server = identity(TlsVersion::tls13, "server");
  server.client_auth = ClientAuth::require;
  const auto c = capture(server, identity(TlsVersion::tls13, "client"));
  ASSERT_EQ(c.client.outcome, harness::Outcome::completed);
  const auto all = messages(c.capture);
  EXPECT_EQ(joined(handshake_part(all)),
            "C:1 S:2 S:CCS S:8 S:13 S:11 S:15 S:20 C:CCS C:11 C:15 C:20")
      << joined(all);
}

TEST_F(PcapngTls, Tls12EcdheHandshakeShowsDecryptedFinished) {
  REQUIRE_TSHARK();
  const auto c = capture(identity(TlsVersion::tls12, "server"), identity(TlsVersion::tls12, ""));
  ASSERT_EQ(c.client.outcome, harness::Outcome::completed);
  const auto all = messages(c.capture);
  EXPECT_EQ(joined(handshake_part(all)), "C:1 S:2 S:11 S:12 S:14 C:16 C:CCS C:20 S:CCS S:20")
      << joined(all);
  EXPECT_EQ(expert_complaints(c.capture), "");
}

TEST_F(PcapngTls, Tls12RsaKeyExchangeIsTheNineMessageFlow) {
  REQUIRE_TSHARK();
  TlsConfig server = identity(TlsVersion::tls12, "server_rsa");
  server.cipher_list = "kRSA";
  TlsConfig client = identity(TlsVersion::tls12, "");
  client.cipher_list = "kRSA";
  const auto c = capture(server, client);
  ASSERT_EQ(c.client.outcome, harness::Outcome::completed) << c.client.error_text;
  const auto all = messages(c.capture);
  EXPECT_EQ(joined(handshake_part(all)), "C:1 S:2 S:11 S:14 C:16 C:CCS C:20 S:CCS S:20")
      << joined(all);
  EXPECT_EQ(expert_complaints(c.capture), "");
}

TEST_F(PcapngTls, Tls12RsaKeyExchangeMutualAuthIsTheTwelveMessageFlow) {
  REQUIRE_TSHARK();
  TlsConfig server = identity(TlsVersion::tls12, "server_rsa");
  server.cipher_list = "kRSA";
  server.client_auth = ClientAuth::require;
  TlsConfig client = identity(TlsVersion::tls12, "client");
  client.cipher_list = "kRSA";
  const auto c = capture(server, client);
  ASSERT_EQ(c.client.outcome, harness::Outcome::completed) << c.client.error_text;
  const auto all = messages(c.capture);
  EXPECT_EQ(joined(handshake_part(all)),
            "C:1 S:2 S:11 S:13 S:14 C:11 C:16 C:15 C:CCS C:20 S:CCS S:20")
      << joined(all);
}

} // namespace

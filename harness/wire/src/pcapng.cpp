// pcapng writer (draft-ietf-opsawg-pcapng) that turns a relay recording into TCP/IP packets.
#include "harness/wire/pcapng.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <span>
#include <string>

#include "common/error.hpp"

namespace harness {
namespace {

constexpr std::uint32_t block_section_header = 0x0A0D0D0A;
constexpr std::uint32_t block_interface_description = 0x00000001;
constexpr std::uint32_t block_enhanced_packet = 0x00000006;
constexpr std::uint32_t block_decryption_secrets = 0x0000000A;
constexpr std::uint32_t byte_order_magic = 0x1A2B3C4D;
constexpr std::uint32_t secrets_tls_key_log = 0x544c534b; // "TLSK"
constexpr std::uint16_t linktype_raw = 101;               // a bare IPv4/IPv6 packet
constexpr std::uint16_t opt_end = 0;
constexpr std::uint16_t opt_comment = 1;
constexpr std::uint16_t shb_userappl = 4;
constexpr std::uint16_t if_name = 2;
constexpr std::uint16_t if_tsresol = 9;

constexpr std::uint8_t tcp_fin = 0x01;
constexpr std::uint8_t tcp_syn = 0x02;
constexpr std::uint8_t tcp_rst = 0x04;
constexpr std::uint8_t tcp_psh = 0x08;
constexpr std::uint8_t tcp_ack = 0x10;

// Loopback's MTU is 65536: a segment with 40 bytes of headers fits the 16-bit IPv4 length.
constexpr std::size_t max_segment = 65495;
constexpr std::uint8_t window_scale = 7;
constexpr std::uint32_t loopback_ip = 0x7F000001;

// Little-endian block fields (the byte-order magic tells readers which order we chose).
class Writer {
public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v));
    u8(static_cast<std::uint8_t>(v >> 8));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v));
    u16(static_cast<std::uint16_t>(v >> 16));
  }
  void u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v));
    u32(static_cast<std::uint32_t>(v >> 32));
  }
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void text(std::string_view s) {
    for (char c : s)
      u8(static_cast<std::uint8_t>(c));
  }
  void pad4() {
    while (out_.size() % 4 != 0)
      u8(0);
  }
  void option(std::uint16_t code, std::string_view value) {
    u16(code);
    u16(static_cast<std::uint16_t>(value.size()));
    text(value);
    pad4();
  }
  void end_options() {
    u16(opt_end);
    u16(0);
  }

  // Starts a block; `end_block` fills in its length (at both ends, as pcapng wants).
  std::size_t begin_block(std::uint32_t type) {
    const std::size_t start = out_.size();
    u32(type);
    u32(0);
    return start;
  }
  void end_block(std::size_t start) {
    pad4();
    const auto length = static_cast<std::uint32_t>(out_.size() - start + 4);
    u32(length);
    for (int i = 0; i < 4; ++i)
      out_[start + 4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (8 * i));
  }

  std::vector<std::uint8_t>& data() { return out_; }

private:
  std::vector<std::uint8_t> out_;
};

// RFC 1071 Internet checksum, folded over successive pieces.
class Checksum {
public:
  void add(std::span<const std::uint8_t> b) {
    for (std::uint8_t byte : b) {
      sum_ += odd_ ? byte : static_cast<std::uint32_t>(byte) << 8;
      odd_ = !odd_;
    }
  }
  [[nodiscard]] std::uint16_t value() const {
    std::uint64_t s = sum_;
    while ((s >> 16) != 0)
      s = (s & 0xFFFF) + (s >> 16);
    return static_cast<std::uint16_t>(~s & 0xFFFF);
  }

private:
  std::uint64_t sum_ = 0;
  bool odd_ = false;
};

// Network byte order into a packet being built.
void put16(std::vector<std::uint8_t>& p, std::size_t at, std::uint16_t v) {
  p[at] = static_cast<std::uint8_t>(v >> 8);
  p[at + 1] = static_cast<std::uint8_t>(v);
}
void put32(std::vector<std::uint8_t>& p, std::size_t at, std::uint32_t v) {
  put16(p, at, static_cast<std::uint16_t>(v >> 16));
  put16(p, at + 2, static_cast<std::uint16_t>(v));
}

// Both ends of the synthesised connection and the packets between them.
class TcpSynthesiser {
public:
  TcpSynthesiser(Writer& w, const Recording& r) : w_(w), started_(r.started_at) {
    client_.port = r.client_port != 0 ? r.client_port : 49152;
    server_.port = r.server_port;
    // Fixed initial sequence numbers: the capture of a recording is reproducible.
    client_.seq = 0x10000000;
    server_.seq = 0x20000000;
  }

  void syn(std::chrono::microseconds t) {
    packet(true, tcp_syn, {}, t, true);
    client_.seq += 1;
  }
  void syn_ack(std::chrono::microseconds t) {
    packet(false, tcp_syn | tcp_ack, {}, t, true);
    server_.seq += 1;
    packet(true, tcp_ack, {}, t);
  }
  void refused(std::chrono::microseconds t) {
    server_.seq = 0; // a RST answering a SYN carries seq 0 (RFC 9293 §3.10.7.1)
    packet(false, tcp_rst | tcp_ack, {}, t);
  }
  void data(bool from_client, std::span<const std::uint8_t> bytes, std::chrono::microseconds t) {
    while (!bytes.empty()) {
      const std::size_t n = std::min(bytes.size(), max_segment);
      const bool last = n == bytes.size();
      packet(from_client, static_cast<std::uint8_t>(tcp_ack | (last ? tcp_psh : 0)), bytes.first(n),
             t);
      side(from_client).seq += static_cast<std::uint32_t>(n);
      bytes = bytes.subspan(n);
    }
  }
  void fin(bool from_client, std::chrono::microseconds t) {
    packet(from_client, tcp_fin | tcp_ack, {}, t);
    side(from_client).seq += 1;
  }
  void rst(bool from_client, std::chrono::microseconds t) {
    packet(from_client, tcp_rst | tcp_ack, {}, t);
  }
  void ack(bool from_client, std::chrono::microseconds t) { packet(from_client, tcp_ack, {}, t); }

private:
  struct End {
    std::uint16_t port = 0;
    std::uint32_t seq = 0; // next sequence number it sends
    std::uint16_t ip_id = 0;
  };
  End& side(bool client) { return client ? client_ : server_; }

  void packet(bool from_client, std::uint8_t flags, std::span<const std::uint8_t> payload,
              std::chrono::microseconds t, bool syn_options = false) {
    End& from = side(from_client);
    End& to = side(!from_client);
    // SYN options: MSS (kind 2), NOP, window scale (kind 3): 8 bytes, a multiple of 4.
    const std::array<std::uint8_t, 8> options{2,
                                              4,
                                              static_cast<std::uint8_t>(max_segment >> 8),
                                              static_cast<std::uint8_t>(max_segment & 0xFF),
                                              1,
                                              3,
                                              3,
                                              window_scale};
    const std::size_t tcp_header = 20 + (syn_options ? options.size() : 0);
    const std::size_t total = 20 + tcp_header + payload.size();
    std::vector<std::uint8_t> p(total, 0);

    // IPv4 header (RFC 791): no options, DF, TTL 64, protocol 6.
    p[0] = 0x45;
    put16(p, 2, static_cast<std::uint16_t>(total));
    put16(p, 4, from.ip_id++);
    put16(p, 6, 0x4000);
    p[8] = 64;
    p[9] = 6;
    put32(p, 12, loopback_ip);
    put32(p, 16, loopback_ip);
    Checksum ip;
    ip.add(std::span(p).first(20));
    put16(p, 10, ip.value());

    // TCP header (RFC 9293 §3.1).
    const std::size_t h = 20;
    const bool has_ack = (flags & tcp_ack) != 0;
    put16(p, h, from.port);
    put16(p, h + 2, to.port);
    put32(p, h + 4, from.seq);
    put32(p, h + 8, has_ack ? to.seq : 0);
    p[h + 12] = static_cast<std::uint8_t>((tcp_header / 4) << 4);
    p[h + 13] = flags;
    // The window is scaled by 2^7 after the handshake: 8 MiB, never full for one relay read.
    put16(p, h + 14, 0xFFFF);
    if (syn_options)
      std::copy(options.begin(), options.end(), p.begin() + static_cast<std::ptrdiff_t>(h + 20));
    std::copy(payload.begin(), payload.end(),
              p.begin() + static_cast<std::ptrdiff_t>(h + tcp_header));
    // The checksum covers a pseudo-header: addresses, protocol, TCP length.
    std::array<std::uint8_t, 12> pseudo{};
    for (std::size_t i = 0; i < 8; ++i)
      pseudo[i] = p[12 + i];
    pseudo[9] = 6;
    pseudo[10] = static_cast<std::uint8_t>((total - 20) >> 8);
    pseudo[11] = static_cast<std::uint8_t>(total - 20);
    Checksum tcp;
    tcp.add(pseudo);
    tcp.add(std::span(p).subspan(20));
    put16(p, h + 16, tcp.value());

    const auto when =
        std::chrono::duration_cast<std::chrono::microseconds>(started_.time_since_epoch()) + t;
    const auto ts = static_cast<std::uint64_t>(when.count());
    const auto block = w_.begin_block(block_enhanced_packet);
    w_.u32(0); // interface 0
    w_.u32(static_cast<std::uint32_t>(ts >> 32));
    w_.u32(static_cast<std::uint32_t>(ts));
    w_.u32(static_cast<std::uint32_t>(p.size()));
    w_.u32(static_cast<std::uint32_t>(p.size()));
    w_.bytes(p);
    w_.pad4();
    w_.end_block(block);
  }

  Writer& w_;
  std::chrono::system_clock::time_point started_;
  End client_;
  End server_;
};

// A chunk or an event of the recording, in the order they happened.
struct Step {
  const RecordedChunk* chunk = nullptr;
  const WireEvent* event = nullptr;
  [[nodiscard]] bool from_client() const {
    return chunk != nullptr ? chunk->client_to_server : event->client_to_server;
  }
  // Whether the synthesised connection shows it as a packet of that side.
  [[nodiscard]] bool is_packet() const {
    return chunk != nullptr ||
           (event->kind == WireEventKind::fin || event->kind == WireEventKind::reset);
  }
};

std::vector<Step> steps(const Recording& r) {
  std::vector<Step> out;
  std::size_t next_chunk = 0;
  for (const auto& e : r.events) {
    while (next_chunk < e.chunks_before && next_chunk < r.chunks.size())
      out.push_back({&r.chunks[next_chunk++], nullptr});
    out.push_back({nullptr, &e});
  }
  while (next_chunk < r.chunks.size())
    out.push_back({&r.chunks[next_chunk++], nullptr});
  return out;
}

void synthesise(Writer& w, const Recording& r) {
  TcpSynthesiser tcp(w, r);
  const auto all = steps(r);
  bool open = false;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Step& s = all[i];
    if (s.event != nullptr) {
      const auto t = s.event->since_start;
      switch (s.event->kind) {
      case WireEventKind::open:
        if (s.event->client_to_server) {
          tcp.syn(t);
        } else {
          tcp.syn_ack(t);
          open = true;
        }
        continue;
      case WireEventKind::refused:
        tcp.refused(t);
        return;
      case WireEventKind::reset:
        if (open)
          tcp.rst(s.event->client_to_server, t);
        return;
      case WireEventKind::aborted:
      case WireEventKind::invalid:
        return;
      case WireEventKind::fin:
        if (!open)
          return;
        tcp.fin(s.event->client_to_server, t);
        break;
      }
    } else {
      if (!open)
        return; // cannot happen: the relay reads nothing before both legs are open
      tcp.data(s.chunk->client_to_server, s.chunk->bytes, s.chunk->since_start);
    }
    // The receiver acknowledges at once unless its own next packet carries the ACK.
    const bool from_client = s.from_client();
    const bool peer_answers =
        i + 1 < all.size() && all[i + 1].is_packet() && all[i + 1].from_client() != from_client;
    if (!peer_answers)
      tcp.ack(!from_client, s.chunk != nullptr ? s.chunk->since_start : s.event->since_start);
  }
}

} // namespace

std::vector<std::uint8_t> pcapng_capture(const Recording& recording, std::string_view keylog) {
  Writer w;

  auto block = w.begin_block(block_section_header);
  w.u32(byte_order_magic);
  w.u16(1); // version 1.0
  w.u16(0);
  w.u64(~std::uint64_t{0}); // section length not given
  w.option(shb_userappl, "tlsmatrix");
  w.option(opt_comment, "synthesised from a tlsmatrix relay recording (127.0.0.1:" +
                            std::to_string(recording.server_port) +
                            "); relay ended: " + std::string(to_string(recording.end)));
  w.end_options();
  w.end_block(block);

  block = w.begin_block(block_interface_description);
  w.u16(linktype_raw);
  w.u16(0);
  w.u32(0); // no snap length limit
  w.option(if_name, "lo");
  w.option(if_tsresol, std::string_view("\x06", 1)); // 10^-6 s
  w.end_options();
  w.end_block(block);

  if (!keylog.empty()) {
    block = w.begin_block(block_decryption_secrets);
    w.u32(secrets_tls_key_log);
    w.u32(static_cast<std::uint32_t>(keylog.size()));
    w.text(keylog);
    w.pad4();
    w.end_block(block);
  }

  synthesise(w, recording);
  return std::move(w.data());
}

void write_pcapng(const std::filesystem::path& file, const Recording& recording,
                  std::string_view keylog) {
  const auto bytes = pcapng_capture(recording, keylog);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out)
    throw tlsmatrix::Error(tlsmatrix::Errc::io, "cannot write capture " + file.string());
}

} // namespace harness

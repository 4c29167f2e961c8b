// A relay recording as a pcapng capture with its TLS key log inside, for tshark and Wireshark.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "harness/wire/relay.hpp"

namespace harness {

// The recording as one synthesised TCP connection 127.0.0.1:client_port -> 127.0.0.1:server_port
// (as if there were no relay), in a pcapng file (one section, little-endian):
//   Section Header Block (shb_userappl "tlsmatrix", a comment naming how the relay ended)
//   Interface Description Block: LINKTYPE_RAW (101, bare IPv4), microsecond timestamps
//   Decryption Secrets Block (type 0x544c534b, TLS key log) holding `keylog` as given (NSS key
//     log lines; several logs may simply be concatenated), before any packet, so readers decrypt
//     with no side files. No block when `keylog` is empty.
//   Enhanced Packet Blocks with IPv4/TCP packets, valid IPv4 and TCP checksums:
//     SYN (MSS 65495, window scale 7) at the client's open, SYN/ACK and ACK at the server's open
//     (or RST/ACK from the server when it refused); each chunk as data segments of at most 65495
//     bytes (PSH on the last), acknowledged by the receiver unless its next packet does; a FIN as
//     FIN/ACK, acknowledged; a reset as RST/ACK from the side that reset. Timestamps are
//     started_at + since_start of the chunk or event. A relay that ended itself (deadline,
//     stop()) adds no packet: the capture stops where the connection was cut.
// A recording without a client (no_client) gives a capture with no packets.
[[nodiscard]] std::vector<std::uint8_t> pcapng_capture(const Recording& recording,
                                                       std::string_view keylog);

// pcapng_capture into `file` (replaced). Throws tlsmatrix::Error (Errc::io) when it cannot write.
void write_pcapng(const std::filesystem::path& file, const Recording& recording,
                  std::string_view keylog);

} // namespace harness

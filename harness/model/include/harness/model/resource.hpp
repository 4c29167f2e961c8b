// The protected resource every case ends with (the seed's step 6): what a client asks for, what
// the server answers, and how to recognise that the answer came through.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace harness {

// The client sends this request after the handshake …
inline constexpr std::string_view resource_request =
    "GET /tlsmatrix HTTP/1.0\r\nHost: localhost\r\n\r\n";
// … and the server answers 200 with a body naming the authenticated client ("anonymous" if none):
// "tlsmatrix-ok client=<subject of the client certificate>\n", then close_notify and close.
inline constexpr std::string_view resource_marker = "tlsmatrix-ok client=";
// A server that echoes (TlsConfig::server_echoes) sends the request back: the exchange is complete
// once its first line is back (every client's request starts with it; some send no Host line).
inline constexpr std::string_view echo_marker = "GET /tlsmatrix HTTP/1.0";

// Whether `text` (what a client received or printed, or a record's plaintext) holds the answer:
// our marker or a line starting with an HTTP 200 status (servers that are not ours: s_server -www,
// gnutls-serv --http), or, from a server that echoes, echo_marker. Judged by the content the
// harness defines, never by a peer definition's own idea of "completed".
[[nodiscard]] constexpr bool shows_resource(std::string_view text, bool server_echoes) {
  if (server_echoes)
    return text.find(echo_marker) != std::string_view::npos;
  if (text.find(resource_marker) != std::string_view::npos)
    return true;
  for (std::size_t line = 0; line < text.size();) {
    const std::string_view rest = text.substr(line);
    if (rest.starts_with("HTTP/1.0 200") || rest.starts_with("HTTP/1.1 200"))
      return true;
    const std::size_t end = text.find('\n', line);
    if (end == std::string_view::npos)
      break;
    line = end + 1;
  }
  return false;
}

// Did the protected resource reach the client (the seed's step 6), and what says so.
struct ResourceDelivery {
  bool delivered = false;
  bool served = false;   // the server's own record: it sent the resource (or, echoing, the echo)
  bool received = false; // the client's own record: the resource (or the echo) came back
  // The trace: a decrypted server->client record carrying it (true), application data we could
  // read that did not (false), or nothing readable (nullopt: no trace, or no keys).
  std::optional<bool> on_wire;
  // The trace: the client's request (client->server application data) crossed the wire (true),
  // the client's records were all readable and none carried one (false), or we cannot tell.
  // A client that sent no request did not go on, whatever the server then sent it.
  std::optional<bool> requested;
  std::string evidence; // for people: "served by the server; received by the client; on the wire"
};

} // namespace harness

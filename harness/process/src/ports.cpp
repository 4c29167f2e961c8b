// Loopback ports: picking free ones, and sock_diag (NETLINK_SOCK_DIAG) queries about listeners,
// matched against the socket inodes in /proc/<pid>/fd of a process group.
#include "harness/process/ports.hpp"

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace harness {
namespace {

namespace fs = std::filesystem;
using tlsmatrix::Errc;
using tlsmatrix::Error;

std::string error_text(int err) {
  return std::system_category().message(err);
}

// 127.0.0.1 as a network-order address (INADDR_LOOPBACK is an old-style cast).
in_addr_t loopback_address() {
  return htonl(0x7f000001U);
}

// NLMSG_HDRLEN, spelt without its old-style cast.
constexpr std::size_t netlink_header_length = (sizeof(nlmsghdr) + 3U) & ~std::size_t{3};

// Sends a sock_diag request about the TCP sockets of `family` whose local port is `port`, in
// `states`: one looked up (its local address `source`) or, with NLM_F_DUMP in `flags`, every one
// (the kernel filters listeners by port). False when the kernel does not take it.
bool send_diag_request(int fd, int family, std::uint16_t port, std::uint32_t states,
                       std::uint16_t flags, in_addr_t source = 0) {
  struct Request {
    nlmsghdr header;
    inet_diag_req_v2 body;
  } request{};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.header.nlmsg_flags = flags;
  request.body.sdiag_family = static_cast<std::uint8_t>(family);
  request.body.sdiag_protocol = IPPROTO_TCP;
  request.body.idiag_states = states;
  request.body.id.idiag_src[0] = source;
  request.body.id.idiag_sport = htons(port);
  request.body.id.idiag_cookie[0] = request.body.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  return ::sendto(fd, &request, sizeof request, 0, reinterpret_cast<const sockaddr*>(&kernel),
                  sizeof kernel) == static_cast<ssize_t>(sizeof request);
}

// The inodes of the TCP sockets listening on `port` (any address, IPv4 and IPv6): a sock_diag dump
// of listening sockets only, which the kernel filters by port. nullopt when sock_diag is missing.
std::optional<std::vector<std::uint64_t>> listener_inodes(std::uint16_t port) {
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd == -1)
    return std::nullopt;
  const common::Fd guard(fd);
  std::vector<std::uint64_t> inodes;
  for (const int family : {AF_INET, AF_INET6}) {
    if (!send_diag_request(fd, family, port, 1U << TCP_LISTEN, NLM_F_REQUEST | NLM_F_DUMP))
      return std::nullopt;
    for (bool done = false; !done;) {
      alignas(nlmsghdr) std::array<char, 16384> reply{};
      const ssize_t n = ::recv(fd, reply.data(), reply.size(), 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return std::nullopt;
      const auto size = static_cast<std::size_t>(n);
      for (std::size_t at = 0; at + sizeof(nlmsghdr) <= size;) {
        nlmsghdr header{};
        std::memcpy(&header, reply.data() + at, sizeof header);
        if (header.nlmsg_len < sizeof header || at + header.nlmsg_len > size ||
            header.nlmsg_type == NLMSG_ERROR)
          return std::nullopt;
        if (header.nlmsg_type == NLMSG_DONE) {
          done = true;
          break;
        }
        if (header.nlmsg_type == SOCK_DIAG_BY_FAMILY &&
            header.nlmsg_len >= netlink_header_length + sizeof(inet_diag_msg)) {
          inet_diag_msg found{};
          std::memcpy(&found, reply.data() + at + netlink_header_length, sizeof found);
          if (found.idiag_state == TCP_LISTEN && ntohs(found.id.idiag_sport) == port)
            inodes.push_back(found.idiag_inode);
        }
        at += (header.nlmsg_len + 3U) & ~std::uint32_t{3}; // NLMSG_ALIGN
      }
    }
  }
  return inodes;
}

// Adds the inodes of the sockets process `pid` holds open; false when its fds cannot be read.
bool add_socket_inodes(pid_t pid, std::vector<std::uint64_t>& out) {
  std::error_code ec;
  const fs::path dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string target = fs::read_symlink(entry.path(), ec).string();
    if (!ec && target.starts_with("socket:["))
      out.push_back(std::strtoull(target.c_str() + 8, nullptr, 10));
  }
  return !ec;
}

// The processes of process group `pgid` besides its leader (children a leader forked).
std::vector<pid_t> group_followers(pid_t pgid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text;
    std::getline(stat, text);
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so from the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos)
      continue;
    char state = 0;
    long ppid = 0, pgrp = 0;
    if (std::sscanf(text.c_str() + close + 1, " %c %ld %ld", &state, &ppid, &pgrp) == 3 &&
        pgrp == pgid && std::stol(name) != pgid)
      out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

} // namespace

// Asks the kernel (sock_diag, one socket looked up, not a dump) whether a TCP SYN to
// 127.0.0.1:port would find a listener: the lookup incoming connections use, so 0.0.0.0 and
// dual-stack [::] listeners count. Nothing connects, so no accept is used up; it costs a few
// microseconds where /proc/net/tcp walks the whole connection table (milliseconds).
// nullopt when sock_diag is unavailable.
std::optional<bool> loopback_listener(std::uint16_t port) {
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd == -1)
    return std::nullopt;
  const common::Fd guard(fd);
  // The local end the listener must accept.
  if (!send_diag_request(fd, AF_INET, port, ~0U, NLM_F_REQUEST, loopback_address()))
    return std::nullopt;
  alignas(nlmsghdr) std::array<char, 4096> reply{};
  const ssize_t n = ::recv(fd, reply.data(), reply.size(), 0);
  if (n < static_cast<ssize_t>(netlink_header_length))
    return std::nullopt;
  nlmsghdr header{};
  std::memcpy(&header, reply.data(), sizeof header);
  const char* payload = reply.data() + netlink_header_length;
  const auto payload_size = static_cast<std::size_t>(n) - netlink_header_length;
  if (header.nlmsg_type == SOCK_DIAG_BY_FAMILY && payload_size >= sizeof(inet_diag_msg)) {
    inet_diag_msg found{};
    std::memcpy(&found, payload, sizeof found);
    return found.idiag_state == TCP_LISTEN;
  }
  if (header.nlmsg_type == NLMSG_ERROR && payload_size >= sizeof(nlmsgerr)) {
    nlmsgerr error{};
    std::memcpy(&error, payload, sizeof error);
    if (error.error == -ENOENT)
      return false; // no such socket: nobody listens there
  }
  return std::nullopt;
}

// Who listens on `port`: nobody, only processes of group `pgid` (a child and what it forked), or
// some other process as well (another run's server, say, on a port both picked). nullopt when the
// kernel cannot be asked (no sock_diag, /proc unreadable).
std::optional<PortHolder> port_holder(std::uint16_t port, pid_t pgid) {
  const auto listeners = listener_inodes(port);
  if (!listeners)
    return std::nullopt;
  if (listeners->empty())
    return PortHolder::none;
  std::vector<std::uint64_t> ours;
  if (!add_socket_inodes(pgid, ours))
    return std::nullopt;
  auto all_ours = [&] {
    return std::all_of(listeners->begin(), listeners->end(), [&](std::uint64_t inode) {
      return std::find(ours.begin(), ours.end(), inode) != ours.end();
    });
  };
  if (!all_ours())
    for (const pid_t pid : group_followers(pgid))
      add_socket_inodes(pid, ours);
  return all_ours() ? PortHolder::group : PortHolder::other;
}

std::uint16_t pick_free_port() {
  // The kernel may hand the same ephemeral port to two threads once the first has released it;
  // remembering recent answers keeps parallel cases on different ports.
  static std::mutex mutex;
  static std::array<std::uint16_t, 64> recent{};
  static std::size_t next = 0;
  for (int attempt = 0; attempt < 32; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
      throw Error(Errc::io, "pick_free_port: socket: " + error_text(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = loopback_address();
    socklen_t length = sizeof address;
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok)
      throw Error(Errc::io, "pick_free_port: bind 127.0.0.1:0: " + error_text(err));
    const std::uint16_t port = ntohs(address.sin_port);
    const std::lock_guard lock(mutex);
    if (std::find(recent.begin(), recent.end(), port) != recent.end())
      continue;
    recent[next++ % recent.size()] = port;
    return port;
  }
  throw Error(Errc::io, "pick_free_port: the kernel keeps returning recently used ports");
}

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd == -1)
    return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = loopback_address();
  address.sin_port = htons(port);
  bool accepted = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  if (!accepted && errno == EINPROGRESS) {
    pollfd watch{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof error;
    accepted = ::poll(&watch, 1, 1000) == 1 &&
               ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
  }
  ::close(fd);
  return accepted;
}

} // namespace harness

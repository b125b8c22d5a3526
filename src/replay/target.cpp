#include "replay/target.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include "replay/http_exchange.hpp"

namespace graceway::replay {

std::optional<Target> parse_url(const std::string& url) {
  static const std::regex pattern(R"(^http://(\[[^\]]+\]|[^/:]+)(?::(\d{1,5}))?(/.*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, pattern)) return std::nullopt;
  Target t;
  t.host = m[1].str();
  if (t.host.front() == '[') t.host = t.host.substr(1, t.host.size() - 2);
  const int port = m[2].matched ? std::stoi(m[2].str()) : 80;  // at most 5 digits: no overflow
  if (port <= 0 || port > 65535) return std::nullopt;
  t.port = static_cast<std::uint16_t>(port);
  t.path = m[3].matched ? m[3].str() : "/";
  return t;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  std::uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

bool wait_healthy(const Target& target) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < give_up) {
    HttpExchange probe(target.host, target.port);
    if (probe.connected() && probe.send("GET", "/healthz", {}) && probe.read_head(std::chrono::seconds(5)) == 200) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a process we do not control
  }
  return false;
}

}  // namespace graceway::replay

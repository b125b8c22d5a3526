#include "graceway/session_id.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <system_error>

namespace graceway {

std::string RandomSessionIds::next() {
  std::array<unsigned char, 16> bytes{};  // 128 bits
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    const auto n = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // No entropy source means no safe ids; refuse to make up weak ones.
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    filled += static_cast<std::size_t>(n);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  id.reserve(bytes.size() * 2);
  for (const unsigned char b : bytes) {
    id.push_back(hex[b >> 4U]);
    id.push_back(hex[b & 0x0FU]);
  }
  return id;
}

std::string SequentialSessionIds::next() { return prefix_ + std::to_string(++counter_); }

}  // namespace graceway

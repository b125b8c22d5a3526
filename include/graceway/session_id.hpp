#pragma once
// Session ids. Production ids carry 128 bits from the kernel CSPRNG (getrandom); tests inject a
// fixed sequence so logs and assertions are stable.

#include <atomic>
#include <cstdint>
#include <string>

namespace graceway {

class SessionIdGenerator {
public:
  virtual ~SessionIdGenerator() = default;
  // Thread-safe. Ids are visible ASCII (0x21-0x7E), as the spec requires.
  [[nodiscard]] virtual std::string next() = 0;
};

// 16 bytes from getrandom(2), as 32 lowercase hex characters.
class RandomSessionIds final : public SessionIdGenerator {
public:
  [[nodiscard]] std::string next() override;
};

// "<prefix>1", "<prefix>2", ... for tests.
class SequentialSessionIds final : public SessionIdGenerator {
public:
  explicit SequentialSessionIds(std::string prefix = "session-") : prefix_(std::move(prefix)) {}
  [[nodiscard]] std::string next() override;

private:
  std::string prefix_;
  std::atomic<std::uint64_t> counter_{0};
};

}  // namespace graceway

// The SSE codec. Two properties:
//  - the decoder takes any bytes, split at any point, without throwing and gives the same events
//    however the bytes are split (a reader sees a stream in arbitrary TCP segments);
//  - encode then decode is the identity on an event's data (line ends normalised to LF), type
//    and id (with the bytes the encoder must drop removed).

#include <cstdint>
#include <string>

#include "fuzz_input.hpp"
#include "transport/sse.hpp"

namespace {

using namespace graceway;

bool same(const sse::Event& a, const sse::Event& b) {
  return a.id == b.id && a.type == b.type && a.data == b.data && a.retry_ms == b.retry_ms;
}

std::string without(std::string_view s, std::string_view drop) {
  std::string out;
  for (const char c : s) {
    if (drop.find(c) == std::string_view::npos) out += c;
  }
  return out;
}

std::string normalise_line_ends(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::FuzzInput in(data, size);
  using namespace std::string_view_literals;

  // Round trip of one event built from the input.
  sse::Event event;
  event.id = in.text(16);
  event.type = in.text(16);
  event.data = in.text(256);
  if (in.flag()) event.retry_ms = in.u16();
  const auto wire = sse::encode(event);
  const auto back = sse::decode_all(wire);
  FUZZ_CHECK(back.size() == 1);
  FUZZ_CHECK(back[0].data == normalise_line_ends(event.data));
  FUZZ_CHECK(back[0].type == without(event.type, "\r\n\0"sv));
  FUZZ_CHECK(back[0].id == without(event.id, "\r\n\0"sv));
  FUZZ_CHECK(back[0].retry_ms == event.retry_ms);
  FUZZ_CHECK(sse::decode_all(sse::comment(event.data)).empty());

  // Arbitrary bytes: whole, and split at one point, decode to the same events.
  const auto split = static_cast<std::size_t>(in.u16());
  const auto stream = in.rest();
  const auto whole = sse::decode_all(stream);
  sse::Decoder parts;
  const auto cut = stream.empty() ? 0 : split % (stream.size() + 1);
  parts.feed(stream.substr(0, cut));
  parts.feed(stream.substr(cut));
  std::size_t n = 0;
  while (auto e = parts.next()) {
    FUZZ_CHECK(n < whole.size());
    FUZZ_CHECK(same(*e, whole[n]));
    ++n;
  }
  FUZZ_CHECK(n == whole.size());
  return 0;
}

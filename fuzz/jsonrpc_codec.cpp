// The JSON-RPC codec, fed any bytes as a POST body. Properties:
//  - decode never throws and classifies every element (or the whole body) as invalid with an errc
//    that maps to a JSON-RPC error, and that error serialises to a valid JSON-RPC error object;
//  - round trip: a message that decodes, encoded and serialised, decodes to the same message.

#include <cstdint>

#include "fuzz_input.hpp"
#include "graceway/jsonrpc.hpp"
#include "transport/error_mapping.hpp"

namespace {

using namespace graceway;

void check_error_object(errc problem, const std::optional<jsonrpc::RequestId>& id, const std::string& detail) {
  const auto& mapping = mapping_of(problem);
  FUZZ_CHECK(mapping.jsonrpc_code < 0);
  const auto wire = jsonrpc::serialize(error_response(problem, id, detail));
  const auto back = jsonrpc::decode(wire);
  FUZZ_CHECK(!back.fatal && !back.batch && back.items.size() == 1);
  const auto& error = back.items.front();
  FUZZ_CHECK(error.kind == jsonrpc::Kind::error_response);
  FUZZ_CHECK(error.error["code"] == mapping.jsonrpc_code);
  FUZZ_CHECK(error.id.has_value() == id.has_value());
}

bool same(const jsonrpc::Message& a, const jsonrpc::Message& b) {
  if (a.kind != b.kind || a.method != b.method) return false;
  if (a.id.has_value() != b.id.has_value()) return false;
  if (a.id && jsonrpc::key_of(*a.id) != jsonrpc::key_of(*b.id)) return false;
  return a.params == b.params && a.result == b.result && a.error == b.error;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  graceway::fuzz::FuzzInput input(data, size);
  const auto depth = static_cast<std::size_t>(input.below(80));
  const auto body = input.rest();
  const auto decoded = jsonrpc::decode(body, depth);

  if (decoded.fatal) {
    FUZZ_CHECK(decoded.items.empty() || decoded.fatal->problem == errc::internal_error);
    FUZZ_CHECK(decoded.fatal->kind == jsonrpc::Kind::invalid);
    check_error_object(decoded.fatal->problem, std::nullopt, decoded.fatal->detail);
    return 0;
  }
  FUZZ_CHECK(!decoded.items.empty());
  FUZZ_CHECK(decoded.batch || decoded.items.size() == 1);
  FUZZ_CHECK(!jsonrpc::nests_deeper_than(body, depth));

  auto wire = nlohmann::json::array();
  for (const auto& item : decoded.items) {
    if (item.kind == jsonrpc::Kind::invalid) {
      FUZZ_CHECK(item.problem == errc::invalid_request);
      check_error_object(item.problem, item.id, item.detail);
      continue;
    }
    FUZZ_CHECK(item.kind != jsonrpc::Kind::request || item.id.has_value());
    FUZZ_CHECK(item.kind != jsonrpc::Kind::notification || !item.id.has_value());
    const auto encoded = jsonrpc::encode(item);
    FUZZ_CHECK(encoded.is_object());
    // One element: decode(serialize(encode(m))) == m.
    const auto again = jsonrpc::decode(jsonrpc::serialize(encoded), depth + 1);
    FUZZ_CHECK(!again.fatal && again.items.size() == 1);
    FUZZ_CHECK(same(item, again.items.front()));
    wire.push_back(encoded);
  }
  // The valid elements as a batch: same messages, same order.
  if (!wire.empty()) {
    const auto again = jsonrpc::decode(jsonrpc::serialize(wire), depth + 2);
    FUZZ_CHECK(!again.fatal && again.batch && again.items.size() == wire.size());
    std::size_t j = 0;
    for (const auto& item : decoded.items) {
      if (item.kind == jsonrpc::Kind::invalid) continue;
      FUZZ_CHECK(same(item, again.items[j]));
      ++j;
    }
  }
  return 0;
}

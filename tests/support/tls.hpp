#pragma once
// TLS for the integration tests. With GRACEWAY_TEST_TLS=1 in the environment (ctest sets it for
// the tls.* copies of the admission and drain tests), every TestServer serves HTTPS with a
// certificate made at test time by the openssl command, and McpClient and StreamClient connect
// over TLS and verify the server against that certificate.

#include <string>

#include "replay/http_exchange.hpp"

namespace graceway::test {

struct TestCertificate {
  std::string cert_file;  // self-signed, for 127.0.0.1 and localhost
  std::string key_file;
};

[[nodiscard]] bool tls_enabled();
// Made once per process in a temporary directory, removed at exit. Throws when openssl fails.
[[nodiscard]] const TestCertificate& test_certificate();
// What clients connect with: null when TLS is off.
[[nodiscard]] const replay::TlsClientOptions* client_tls();

}  // namespace graceway::test

#include "support/tls.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace graceway::test {

bool tls_enabled() {
  const char* flag = std::getenv("GRACEWAY_TEST_TLS");  // NOLINT(concurrency-mt-unsafe): read-only environment
  return flag != nullptr && std::string(flag) == "1";
}

const TestCertificate& test_certificate() {
  static const TestCertificate certificate = [] {
    std::string dir = (std::filesystem::temp_directory_path() / "graceway-tls-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    TestCertificate c{dir + "/cert.pem", dir + "/key.pem"};
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost"
        " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
        c.key_file + " -out " + c.cert_file + " 2>/dev/null";
    if (std::system(command.c_str()) != 0) {  // NOLINT(cert-env33-c,concurrency-mt-unsafe): test set-up
      throw std::runtime_error("openssl could not make a test certificate (is the openssl command installed?)");
    }
    static const std::string to_remove = dir;
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(to_remove, ignored);
    });
    return c;
  }();
  return certificate;
}

const replay::TlsClientOptions* client_tls() {
  if (!tls_enabled()) return nullptr;
  static const replay::TlsClientOptions options{.ca_file = test_certificate().cert_file, .verify = true};
  return &options;
}

}  // namespace graceway::test

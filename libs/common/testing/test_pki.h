#pragma once
// A throwaway PKI for tests: a CA and the certificates it issues, made at test time with OpenSSL
// (P-256 keys, SHA-256 signatures), written as PEM files into a directory.

#include <chrono>
#include <string>
#include <vector>

#include "common/grpc_security.h"

namespace sase::testing {

struct TestCert {
  std::string cert_file;
  std::string key_file;
};

class TestPki {
 public:
  // Makes the CA "<name>" in `dir` (created if missing).
  TestPki(std::string dir, std::string name = "sase-test-ca");
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& ca_file() const { return ca_file_; }

  struct Leaf {
    std::string uri;  // URI SAN, e.g. "spiffe://sase.internal/ingress"; empty: none
    std::chrono::seconds not_before = std::chrono::hours(-1);  // relative to now
    std::chrono::seconds not_after = std::chrono::hours(24);   // negative: already expired
  };
  // A certificate for DNS:localhost and IP:127.0.0.1 (plus leaf.uri) signed by this CA, written
  // to <dir>/<file_stem>.pem and <file_stem>.key (overwritten if present).
  TestCert Issue(const std::string& file_stem, const Leaf& leaf);
  TestCert Issue(const std::string& file_stem, const std::string& uri) { return Issue(file_stem, Leaf{.uri = uri}); }

  // Client/server settings presenting `cert` and trusting this CA.
  common::GrpcSecurity Security(const TestCert& cert) const;
  // The same as a service's flags: --grpc_tls_cert_file=... --grpc_tls_key_file=... --grpc_tls_ca_file=...
  std::vector<std::string> Flags(const TestCert& cert) const;

 private:
  struct Impl;
  std::string dir_;
  std::string ca_file_;
  Impl* impl_;
};

// spiffe://sase.internal/<role>
std::string SpiffeId(const std::string& role);

}  // namespace sase::testing

#include "common/testing/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <stdexcept>

namespace sase::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  Check(key != nullptr, "EVP_EC_gen");
  return key;
}

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* NewCert(const std::string& cn, EVP_PKEY* key, long serial, std::chrono::seconds not_before,
              std::chrono::seconds not_after) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), static_cast<long>(not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert), static_cast<long>(not_after.count()));
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

void WritePem(const std::string& path, X509* cert) {
  FILE* f = fopen(path.c_str(), "w");
  Check(f != nullptr, "open cert file");
  PEM_write_X509(f, cert);
  fclose(f);
}

void WriteKey(const std::string& path, EVP_PKEY* key) {
  FILE* f = fopen(path.c_str(), "w");
  Check(f != nullptr, "open key file");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  fclose(f);
}

}  // namespace

struct TestPki::Impl {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  long next_serial = 2;
};

TestPki::TestPki(std::string dir, std::string name) : dir_(std::move(dir)), impl_(new Impl) {
  std::filesystem::create_directories(dir_);
  impl_->key = NewKey();
  impl_->cert = NewCert(name, impl_->key, 1, std::chrono::hours(-1), std::chrono::hours(48));
  X509_set_issuer_name(impl_->cert, X509_get_subject_name(impl_->cert));
  AddExt(impl_->cert, impl_->cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExt(impl_->cert, impl_->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExt(impl_->cert, impl_->cert, NID_subject_key_identifier, "hash");
  Check(X509_sign(impl_->cert, impl_->key, EVP_sha256()) > 0, "sign CA");
  ca_file_ = dir_ + "/" + name + ".pem";
  WritePem(ca_file_, impl_->cert);
}

TestPki::~TestPki() {
  X509_free(impl_->cert);
  EVP_PKEY_free(impl_->key);
  delete impl_;
}

TestCert TestPki::Issue(const std::string& file_stem, const Leaf& leaf) {
  EVP_PKEY* key = NewKey();
  X509* cert = NewCert(file_stem, key, impl_->next_serial++, leaf.not_before, leaf.not_after);
  X509_set_issuer_name(cert, X509_get_subject_name(impl_->cert));
  std::string san = "DNS:localhost,IP:127.0.0.1";
  if (!leaf.uri.empty()) san += ",URI:" + leaf.uri;
  AddExt(cert, impl_->cert, NID_subject_alt_name, san);
  AddExt(cert, impl_->cert, NID_basic_constraints, "critical,CA:FALSE");
  AddExt(cert, impl_->cert, NID_key_usage, "critical,digitalSignature");
  AddExt(cert, impl_->cert, NID_ext_key_usage, "serverAuth,clientAuth");
  AddExt(cert, impl_->cert, NID_authority_key_identifier, "keyid");
  Check(X509_sign(cert, impl_->key, EVP_sha256()) > 0, "sign leaf");
  TestCert out{dir_ + "/" + file_stem + ".pem", dir_ + "/" + file_stem + ".key"};
  // Write to temporaries and rename, so a watcher never reads a half-written pair.
  WriteKey(out.key_file + ".tmp", key);
  WritePem(out.cert_file + ".tmp", cert);
  std::filesystem::rename(out.key_file + ".tmp", out.key_file);
  std::filesystem::rename(out.cert_file + ".tmp", out.cert_file);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

common::GrpcSecurity TestPki::Security(const TestCert& cert) const {
  common::GrpcSecurity s;
  s.cert_file = cert.cert_file;
  s.key_file = cert.key_file;
  s.ca_file = ca_file_;
  s.refresh_seconds = 1;
  return s;
}

std::vector<std::string> TestPki::Flags(const TestCert& cert) const {
  return {"--grpc_tls_cert_file=" + cert.cert_file, "--grpc_tls_key_file=" + cert.key_file,
          "--grpc_tls_ca_file=" + ca_file_, "--grpc_tls_refresh_s=1"};
}

std::string SpiffeId(const std::string& role) { return "spiffe://sase.internal/" + role; }

}  // namespace sase::testing

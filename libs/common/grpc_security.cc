#include "common/grpc_security.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <optional>

#include <grpc/grpc_security_constants.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/c_ptr.h"
#include "common/log.h"

namespace sase::common {
namespace {

constexpr std::array<CallerRole, 3> kAllRoles = {CallerRole::kIngress, CallerRole::kAdmin, CallerRole::kReader};

// Who may call what. Exact methods first, then whole services ("/pkg.Service/"); first match
// wins; anything else admits nobody.
struct Rule {
  std::string_view method;  // exact, or a prefix ending in '/'
  std::vector<CallerRole> roles;
};
const std::vector<Rule>& Rules() {
  static const auto* rules = new std::vector<Rule>{
      // ingress: store pushes, fetch the callback keys, finish logons. Nothing else.
      {"/sase.dingtalk.v1.SyncService/SubmitEvents", {CallerRole::kIngress}},
      {"/sase.dingtalk.v1.SyncService/GetCallbackKeys", {CallerRole::kIngress}},
      {"/sase.dingtalk.v1.LoginService/", {CallerRole::kIngress}},
      // The admin API: sources, tenants, sync runs and their approval.
      {"/sase.dingtalk.v1.SyncService/", {CallerRole::kAdmin}},
      {"/sase.dingtalk.v1.IdentitySourceService/", {CallerRole::kAdmin}},
      {"/sase.dingtalk.v1.TenantService/", {CallerRole::kAdmin}},
      // Directory readers (other backend services) and the admin's sasectl.
      {"/sase.dingtalk.v1.DirectoryService/", {CallerRole::kReader, CallerRole::kAdmin}},
      // Readiness checks of any authenticated peer; reflection (grpcurl) for admins.
      {"/grpc.health.v1.Health/", {kAllRoles.begin(), kAllRoles.end()}},
      {"/grpc.reflection.v1alpha.ServerReflection/", {CallerRole::kAdmin}},
  };
  return *rules;
}

bool IsNameSegment(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::optional<CallerRole> RoleNamed(std::string_view name) {
  for (CallerRole r : kAllRoles) {
    if (CallerRoleName(r) == name) return r;
  }
  return std::nullopt;
}

using BioPtr = CPtr<BIO, BIO_free_all>;
using X509Ptr = CPtr<X509, X509_free>;
using PkeyPtr = CPtr<EVP_PKEY, EVP_PKEY_free>;

absl::StatusOr<BioPtr> OpenPem(const std::string& key, const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key ", key, ": required unless grpc_plaintext=true (internal gRPC is mutual TLS)"));
  }
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) return absl::InvalidArgumentError(absl::StrCat("config key ", key, ": cannot read ", path));
  return bio;
}

std::vector<std::string> UriSans(X509* cert) {
  std::vector<std::string> out;
  CPtr<GENERAL_NAMES, GENERAL_NAMES_free> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = n->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  return out;
}

class Authorizer : public grpc::AuthMetadataProcessor {
 public:
  Authorizer(std::string trust_domain, RefusalObserver on_refused)
      : trust_domain_(std::move(trust_domain)), on_refused_(std::move(on_refused)), limiter_(2) {}

  // Inline on gRPC's thread: a table lookup, nothing that blocks.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& md, grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    std::string method = "unknown";
    if (auto it = md.find(":path"); it != md.end()) method.assign(it->second.data(), it->second.size());
    std::string reason = "no_identity";
    std::string caller;
    for (const grpc::string_ref& value : context->FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
      const std::string uri(value.data(), value.size());
      absl::StatusOr<CallerIdentity> id = ParseCallerIdentity(uri, trust_domain_);
      if (!id.ok()) {
        if (caller.empty()) {
          caller = uri;
          reason = "foreign_identity";
        }
        continue;
      }
      if (MethodAdmits(method, id->role)) return grpc::Status::OK;
      caller = uri;
      reason = "role_not_admitted";
    }
    if (on_refused_) on_refused_(method, reason);
    int64_t suppressed = 0;
    if (limiter_.Allow(reason, &suppressed)) {
      LogWarn("grpc call refused", {{"method", method},
                                    {"caller", caller.empty() ? "(no URI SAN)" : caller},
                                    {"reason", reason},
                                    {"suppressed", std::to_string(suppressed)}});
    }
    return grpc::Status(
        grpc::StatusCode::PERMISSION_DENIED,
        caller.empty() ? absl::StrCat("the client certificate names no spiffe://", trust_domain_, "/<role> identity")
                       : absl::StrCat(caller, " may not call ", method));
  }

 private:
  const std::string trust_domain_;
  const RefusalObserver on_refused_;
  LogLimiter limiter_;
};

std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> Provider(const GrpcSecurity& s) {
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      s.key_file, s.cert_file, s.ca_file, static_cast<unsigned int>(s.refresh_seconds));
}

std::string HostOf(const std::string& addr) {
  if (absl::StartsWith(addr, "[")) {
    size_t close = addr.find(']');
    return close == std::string::npos ? addr : addr.substr(1, close - 1);
  }
  size_t colon = addr.rfind(':');
  return colon == std::string::npos ? addr : addr.substr(0, colon);
}

}  // namespace

std::string_view CallerRoleName(CallerRole role) {
  switch (role) {
    case CallerRole::kIngress: return "ingress";
    case CallerRole::kAdmin: return "admin";
    case CallerRole::kReader: return "reader";
  }
  return "unknown";
}

GrpcSecurity GrpcSecurity::Plaintext() {
  GrpcSecurity s;
  s.plaintext = true;
  return s;
}

void AddGrpcSecurityKeys(ConfigParser& p, GrpcSecurity* out, const std::string& server_name_key) {
  p.Bool("grpc_plaintext", &out->plaintext, false,
         "internal gRPC without TLS and without caller authentication (loopback addresses only; local runs)");
  p.String("grpc_tls_cert_file", &out->cert_file, "",
           "this process's certificate (PEM) with a URI SAN spiffe://<trust domain>/<role>; re-read when it changes");
  p.String("grpc_tls_key_file", &out->key_file, "", "the certificate's private key (PEM)");
  p.String("grpc_tls_ca_file", &out->ca_file, "", "CA certificates (PEM) a peer's certificate must chain to");
  p.Int("grpc_tls_refresh_s", &out->refresh_seconds, 60, "seconds between re-reads of the TLS files",
        {.min = 1, .max = 86400});
  p.String("grpc_trust_domain", &out->trust_domain, "sase.internal",
           "SPIFFE trust domain of caller identities (spiffe://<domain>/ingress|admin|reader[/name])");
  if (!server_name_key.empty()) {
    p.String(server_name_key, &out->server_name, "",
             "DNS name the server's certificate must carry when the address is not that name");
  }
}

absl::StatusOr<CallerIdentity> ParseCallerIdentity(std::string_view uri, std::string_view trust_domain) {
  const std::string prefix = "spiffe://" + std::string(trust_domain) + "/";
  if (!uri.starts_with(prefix)) {
    return absl::PermissionDeniedError("not an identity of trust domain " + std::string(trust_domain));
  }
  std::string_view path = uri.substr(prefix.size());
  std::string_view role_name = path.substr(0, path.find('/'));
  if (role_name.size() < path.size()) {
    std::string_view name = path.substr(role_name.size() + 1);
    if (!IsNameSegment(name)) return absl::PermissionDeniedError("identity name is empty or not [A-Za-z0-9._-]");
  }
  std::optional<CallerRole> role = RoleNamed(role_name);
  if (!role) return absl::PermissionDeniedError("unknown role " + std::string(role_name));
  return CallerIdentity{*role, std::string(uri)};
}

bool MethodAdmits(std::string_view method, CallerRole role) {
  for (const Rule& rule : Rules()) {
    const bool matches =
        rule.method.ends_with('/')
            ? method.starts_with(rule.method) && method.size() > rule.method.size() &&
                  method.find('/', rule.method.size()) == std::string_view::npos
            : method == rule.method;
    if (!matches) continue;
    for (CallerRole r : rule.roles) {
      if (r == role) return true;
    }
    return false;
  }
  return false;
}

bool IsLoopbackAddress(const std::string& addr) {
  if (absl::StartsWith(addr, "unix:")) return true;
  const std::string host = HostOf(addr);
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::Status CheckGrpcSecurity(const GrpcSecurity& s,
                               const std::vector<std::pair<std::string, std::string>>& addrs) {
  if (s.plaintext) {
    for (const auto& [key, addr] : addrs) {
      if (!IsLoopbackAddress(addr)) {
        return absl::InvalidArgumentError(absl::StrCat("config key grpc_plaintext: plaintext gRPC only on loopback "
                                                       "addresses, but ", key, " is ", addr,
                                                       " (configure grpc_tls_cert_file, grpc_tls_key_file, "
                                                       "grpc_tls_ca_file)"));
      }
    }
    return absl::OkStatus();
  }
  absl::StatusOr<BioPtr> cert_bio = OpenPem("grpc_tls_cert_file", s.cert_file);
  if (!cert_bio.ok()) return cert_bio.status();
  absl::StatusOr<BioPtr> key_bio = OpenPem("grpc_tls_key_file", s.key_file);
  if (!key_bio.ok()) return key_bio.status();
  absl::StatusOr<BioPtr> ca_bio = OpenPem("grpc_tls_ca_file", s.ca_file);
  if (!ca_bio.ok()) return ca_bio.status();

  X509Ptr cert(PEM_read_bio_X509(cert_bio->get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key grpc_tls_cert_file: ", s.cert_file, " holds no PEM certificate"));
  }
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio->get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key grpc_tls_key_file: ", s.key_file, " holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key grpc_tls_key_file: the key does not match the certificate in ", s.cert_file));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("config key grpc_tls_cert_file: the certificate in ", s.cert_file,
                                                   " has expired"));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert.get())) > 0) {
    return absl::InvalidArgumentError(absl::StrCat("config key grpc_tls_cert_file: the certificate in ", s.cert_file,
                                                   " is not valid yet"));
  }
  // A caller's role (ingress, admin, reader) or a server's own name (sync-worker, directory).
  bool has_identity = false;
  for (const std::string& uri : UriSans(cert.get())) {
    has_identity |= absl::StartsWith(uri, absl::StrCat("spiffe://", s.trust_domain, "/"));
  }
  if (!has_identity) {
    return absl::InvalidArgumentError(absl::StrCat("config key grpc_tls_cert_file: the certificate names no URI SAN "
                                                   "spiffe://", s.trust_domain, "/..."));
  }
  int ca_certs = 0;
  while (X509Ptr ca{PEM_read_bio_X509(ca_bio->get(), nullptr, nullptr, nullptr)}) ++ca_certs;
  if (ca_certs == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config key grpc_tls_ca_file: ", s.ca_file, " holds no PEM certificate"));
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const GrpcSecurity& s, RefusalObserver on_refused) {
  if (s.plaintext) return grpc::InsecureServerCredentials();
  grpc::experimental::TlsServerCredentialsOptions options(Provider(s));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::experimental::TlsServerCredentials(options);
  creds->SetAuthMetadataProcessor(std::make_shared<Authorizer>(s.trust_domain, std::move(on_refused)));
  return creds;
}

std::shared_ptr<grpc::Channel> MakeGrpcChannel(const std::string& target, const GrpcSecurity& s) {
  // A peer service that restarts is back within seconds: gRPC's default reconnect back-off
  // (1 s growing to 120 s) would keep a client failing long after that, so retry every second at
  // most.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return MakeGrpcChannel(target, s, std::move(args));
}

std::shared_ptr<grpc::Channel> MakeGrpcChannel(const std::string& target, const GrpcSecurity& s,
                                               grpc::ChannelArguments args) {
  if (s.plaintext) return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(Provider(s));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  if (!s.server_name.empty()) args.SetSslTargetNameOverride(s.server_name);
  return grpc::CreateCustomChannel(target, grpc::experimental::TlsCredentials(options), args);
}

}  // namespace sase::common

#pragma once
// sase.dingtalk.v1.IdentitySourceService: identity sources, extended fields, mappable fields and
// integration links. Handlers validate (sync_worker/rules.h), map proto <-> store records and call
// one repository function; nothing is written when validation fails.

#include <string>

#include "sase/dingtalk/v1/identity_source.grpc.pb.h"
#include "store/extended_field_repository.h"
#include "store/identity_source_repository.h"

namespace sase::sync_worker {

class SourceProbe;  // source_probe.h

namespace pb = ::sase::dingtalk::v1;

class IdentitySourceServiceImpl final : public pb::IdentitySourceService::Service {
 public:
  struct Options {
    // host[:port] of ingress as DingTalk sees it; empty: GetIntegrationLinks answers FAILED_PRECONDITION.
    std::string public_host;
  };

  // `probe` serves TestConnectivity and ListSourceDepartments.
  IdentitySourceServiceImpl(store::IdentitySourceRepository& sources, store::ExtendedFieldRepository& fields,
                            SourceProbe& probe, Options options)
      : sources_(sources), fields_(fields), probe_(probe), options_(std::move(options)) {}

  grpc::Status CreateIdentitySource(grpc::ServerContext* ctx, const pb::CreateIdentitySourceRequest* req,
                                    pb::IdentitySource* resp) override;
  grpc::Status GetIdentitySource(grpc::ServerContext* ctx, const pb::GetIdentitySourceRequest* req,
                                 pb::IdentitySource* resp) override;
  grpc::Status ListIdentitySources(grpc::ServerContext* ctx, const pb::ListIdentitySourcesRequest* req,
                                   pb::ListIdentitySourcesResponse* resp) override;
  grpc::Status UpdateIdentitySource(grpc::ServerContext* ctx, const pb::UpdateIdentitySourceRequest* req,
                                    pb::IdentitySource* resp) override;
  grpc::Status DeleteIdentitySource(grpc::ServerContext* ctx, const pb::DeleteIdentitySourceRequest* req,
                                    pb::DeleteIdentitySourceResponse* resp) override;
  grpc::Status TestConnectivity(grpc::ServerContext* ctx, const pb::TestConnectivityRequest* req,
                                pb::TestConnectivityResponse* resp) override;
  grpc::Status ListSourceDepartments(grpc::ServerContext* ctx, const pb::ListSourceDepartmentsRequest* req,
                                     pb::ListSourceDepartmentsResponse* resp) override;
  grpc::Status ListMappableFields(grpc::ServerContext* ctx, const pb::ListMappableFieldsRequest* req,
                                  pb::ListMappableFieldsResponse* resp) override;
  grpc::Status GetIntegrationLinks(grpc::ServerContext* ctx, const pb::GetIntegrationLinksRequest* req,
                                   pb::IntegrationLinks* resp) override;
  grpc::Status CreateExtendedField(grpc::ServerContext* ctx, const pb::CreateExtendedFieldRequest* req,
                                   pb::ExtendedField* resp) override;
  grpc::Status ListExtendedFields(grpc::ServerContext* ctx, const pb::ListExtendedFieldsRequest* req,
                                  pb::ListExtendedFieldsResponse* resp) override;
  grpc::Status UpdateExtendedField(grpc::ServerContext* ctx, const pb::UpdateExtendedFieldRequest* req,
                                   pb::ExtendedField* resp) override;
  grpc::Status DeleteExtendedField(grpc::ServerContext* ctx, const pb::DeleteExtendedFieldRequest* req,
                                   pb::DeleteExtendedFieldResponse* resp) override;

 private:
  store::IdentitySourceRepository& sources_;
  store::ExtendedFieldRepository& fields_;
  SourceProbe& probe_;
  Options options_;
};

}  // namespace sase::sync_worker

#pragma once
// sase.dingtalk.v1.TenantService: per-tenant settings (today the enterprise identifier employees
// type into the SASE client to find their logon options).

#include "sase/dingtalk/v1/tenant.grpc.pb.h"
#include "store/login_repository.h"

namespace sase::sync_worker {

class TenantServiceImpl final : public ::sase::dingtalk::v1::TenantService::Service {
 public:
  explicit TenantServiceImpl(store::TenantSettingsRepository& repo) : repo_(repo) {}

  grpc::Status GetTenantSettings(grpc::ServerContext* ctx, const ::sase::dingtalk::v1::GetTenantSettingsRequest* req,
                                 ::sase::dingtalk::v1::TenantSettings* resp) override;
  grpc::Status UpdateTenantSettings(grpc::ServerContext* ctx,
                                    const ::sase::dingtalk::v1::UpdateTenantSettingsRequest* req,
                                    ::sase::dingtalk::v1::TenantSettings* resp) override;

 private:
  store::TenantSettingsRepository& repo_;
};

}  // namespace sase::sync_worker

#include "sync_worker/source/source_probe.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "dingtalk/error.h"
#include "sync_worker/source/failure_reason.h"

namespace sase::sync_worker {
namespace {

namespace pb = ::sase::dingtalk::v1;

// Runs one step; true when it succeeded.
template <typename Fn>
bool Step(pb::TestConnectivityResponse* resp, const char* name, Fn fn) {
  pb::ConnectivityStep* step = resp->add_steps();
  step->set_name(name);
  const absl::Time start = absl::Now();
  absl::Status s = fn();
  step->set_elapsed_ms(absl::ToInt64Milliseconds(absl::Now() - start));
  step->set_ok(s.ok());
  if (!s.ok()) {
    step->set_reason(FailureReason(s) == "internal" ? "unknown" : FailureReason(s));
    step->set_detail(FailureDetail(s));
  }
  return s.ok();
}

}  // namespace

absl::Status SourceProbe::TestConnectivity(const pb::TestConnectivityRequest& req,
                                           pb::TestConnectivityResponse* resp) {
  RETURN_IF_ERROR(common::ValidateTenantId(req.tenant_id()));
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", req.idp_id()));
  ASSIGN_OR_RETURN(SourceConfig src, sources_.Load(req.tenant_id(), req.idp_id()));
  resp->set_ok(false);
  if (src.record.app_key.empty() || src.app_secret.empty()) {
    pb::ConnectivityStep* step = resp->add_steps();
    step->set_name("token");
    step->set_reason("bad_credentials");
    step->set_detail("the identity source has no AppKey/AppSecret");
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<dingtalk::Client>> client = sources_.FreshClient(src);
  if (!client.ok()) {
    Step(resp, "token", [&] { return client.status(); });
    return absl::OkStatus();
  }
  dingtalk::Client& c = **client;
  const dingtalk::CallOptions call = dingtalk::CallOptions::Interactive();
  const int64_t root =
      src.record.scope_root_dept_ids.empty() ? dingtalk::kRootDeptId : src.record.scope_root_dept_ids.front();
  bool ok = Step(resp, "token", [&] { return c.GetAccessToken(call).status(); }) &&
            Step(resp, "department", [&] { return c.GetDepartment(root, call).status(); }) &&
            Step(resp, "user_page", [&] { return c.ListUsersPage(root, 0, 1, call).status(); });
  resp->set_ok(ok);
  return absl::OkStatus();
}

absl::Status SourceProbe::ListSourceDepartments(const pb::ListSourceDepartmentsRequest& req,
                                                pb::ListSourceDepartmentsResponse* resp) {
  RETURN_IF_ERROR(common::ValidateTenantId(req.tenant_id()));
  RETURN_IF_ERROR(common::ValidateUuid("idp_id", req.idp_id()));
  if (req.parent_department_id() < 0) {
    return absl::InvalidArgumentError("parent_department_id: must be 0 (the root) or a department id");
  }
  const int64_t parent = req.parent_department_id() == 0 ? dingtalk::kRootDeptId : req.parent_department_id();
  ASSIGN_OR_RETURN(SourceConfig src, sources_.Load(req.tenant_id(), req.idp_id()));
  if (src.record.app_key.empty() || src.app_secret.empty()) {
    return absl::FailedPreconditionError("app_secret: the identity source has no AppKey/AppSecret");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<dingtalk::Client> client, sources_.ClientFor(src));
  const dingtalk::CallOptions call = dingtalk::CallOptions::Interactive();
  absl::StatusOr<std::vector<dingtalk::Department>> children = client->ListSubDepartments(parent, call);
  if (!children.ok()) {
    if (dingtalk::ReasonOf(children.status()) == dingtalk::ApiError::kNotFound) {
      return absl::NotFoundError(absl::StrCat("parent_department_id: department ", parent, " not found in DingTalk"));
    }
    return children.status();
  }
  for (const dingtalk::Department& d : *children) {
    pb::SourceDepartment* out = resp->add_departments();
    out->set_department_id(d.dept_id);
    out->set_name(d.name);
    out->set_parent_department_id(d.parent_id != 0 ? d.parent_id : parent);
    absl::StatusOr<std::vector<int64_t>> grandchildren = client->ListSubDepartmentIds(d.dept_id, call);
    if (!grandchildren.ok() && dingtalk::ReasonOf(grandchildren.status()) != dingtalk::ApiError::kNotFound) {
      return grandchildren.status();
    }
    out->set_has_children(grandchildren.ok() && !grandchildren->empty());
  }
  return absl::OkStatus();
}

}  // namespace sase::sync_worker

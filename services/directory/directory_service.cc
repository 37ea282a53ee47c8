#include "directory/directory_service.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "common/validation.h"
#include "common/watch_cursor.h"

namespace sase::directory {
namespace {

namespace v1 = ::sase::dingtalk::v1;

constexpr char kUsersToken[] = "users";
constexpr char kSearchToken[] = "search";
constexpr char kDeptsToken[] = "depts";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// tenant_id plus an optional or required idp_id; normalises the idp to lowercase.
absl::Status CheckTenant(const std::string& tenant) { return common::ValidateTenantId(tenant); }

absl::StatusOr<std::string> CheckIdp(const std::string& idp, bool required) {
  if (idp.empty() && !required) return std::string();
  absl::Status s = common::ValidateUuid("idp_id", idp);
  if (!s.ok()) return s;
  return Lower(idp);
}

absl::StatusOr<std::string> CheckUserId(const std::string& id, const char* field = "user_id") {
  absl::Status s = common::ValidateUuid(field, id);
  if (!s.ok()) return s;
  return Lower(id);
}

absl::StatusOr<std::string> UserCursor(const char* kind, const std::string& token) {
  if (token.empty()) return std::string();
  absl::StatusOr<std::string> payload = common::DecodePageToken(kind, token);
  if (!payload.ok()) return payload.status();
  if (!common::IsUuid(*payload)) return absl::InvalidArgumentError("page_token: malformed");
  return *payload;
}

}  // namespace

grpc::ServerUnaryReactor* DirectoryServiceImpl::GetUser(grpc::CallbackServerContext* ctx,
                                                        const v1::GetUserRequest* req, v1::User* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(DoGetUser(*req, resp));
  return reactor;
}

grpc::Status DirectoryServiceImpl::DoGetUser(const v1::GetUserRequest& request, v1::User* resp) {
  return common::Serve([&]() -> absl::Status {
    const v1::GetUserRequest* req = &request;
    RETURN_IF_ERROR(CheckTenant(req->tenant_id()));
    ASSIGN_OR_RETURN(auto id, CheckUserId(req->user_id()));
    if (options_.cache != nullptr) return options_.cache->GetUser(req->tenant_id(), id, resp);
    ASSIGN_OR_RETURN(auto user, reader_.GetUser(req->tenant_id(), id));
    *resp = std::move(user);
    return absl::OkStatus();
  });
}

grpc::Status DirectoryServiceImpl::BatchGetUsers(grpc::ServerContext*, const v1::BatchGetUsersRequest* req,
                                                 v1::BatchGetUsersResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckTenant(req->tenant_id()));
    if (req->user_ids_size() > kMaxBatchGet) {
      return absl::InvalidArgumentError(absl::StrCat("user_ids: at most ", kMaxBatchGet));
    }
    std::vector<std::string> ids;
    ids.reserve(static_cast<size_t>(req->user_ids_size()));
    for (const auto& id : req->user_ids()) {
      if (!common::IsUuid(id)) {
        return absl::InvalidArgumentError(absl::StrCat("user_ids: '", id.substr(0, 40), "' is not a UUID"));
      }
      ids.push_back(Lower(id));
    }
    if (ids.empty()) return absl::OkStatus();
    std::vector<std::string> not_found;
    ASSIGN_OR_RETURN(auto users, reader_.BatchGetUsers(req->tenant_id(), ids, &not_found));
    for (auto& u : users) *resp->add_users() = std::move(u);
    for (auto& id : not_found) resp->add_not_found(std::move(id));
    return absl::OkStatus();
  });
}

grpc::Status DirectoryServiceImpl::LookupUser(grpc::ServerContext*, const v1::LookupUserRequest* req,
                                              v1::LookupUserResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckTenant(req->tenant_id()));
    ASSIGN_OR_RETURN(auto idp, CheckIdp(req->idp_id(), false));
    store::LookupKey key = store::LookupKey::kDingTalkUserId;
    std::string value;
    const char* field = "";
    switch (req->key_case()) {
      case v1::LookupUserRequest::kDingtalkUserid:
        key = store::LookupKey::kDingTalkUserId, value = req->dingtalk_userid(), field = "dingtalk_userid";
        break;
      case v1::LookupUserRequest::kUnionid:
        key = store::LookupKey::kUnionId, value = req->unionid(), field = "unionid";
        break;
      case v1::LookupUserRequest::kEmail:
        key = store::LookupKey::kEmail, value = req->email(), field = "email";
        break;
      case v1::LookupUserRequest::kMobile:
        key = store::LookupKey::kMobile, value = req->mobile(), field = "mobile";
        break;
      case v1::LookupUserRequest::kJobNumber:
        key = store::LookupKey::kJobNumber, value = req->job_number(), field = "job_number";
        break;
      default:
        return absl::InvalidArgumentError(
            "key: one of dingtalk_userid, unionid, email, mobile, job_number is required");
    }
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": must not be empty"));
    if (value.size() > static_cast<size_t>(kMaxLookupKeyLength)) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": longer than ", kMaxLookupKeyLength, " bytes"));
    }
    ASSIGN_OR_RETURN(auto users, reader_.LookupUser(req->tenant_id(), idp, key, value));
    if (users.empty()) return absl::NotFoundError(absl::StrCat(field, ": no such user"));
    for (auto& u : users) *resp->add_users() = std::move(u);
    return absl::OkStatus();
  });
}

grpc::Status DirectoryServiceImpl::ListUsers(grpc::ServerContext*, const v1::ListUsersRequest* req,
                                             v1::ListUsersResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckTenant(req->tenant_id()));
    if (req->department_id() < 0) return absl::InvalidArgumentError("department_id: must not be negative");
    ASSIGN_OR_RETURN(auto idp, CheckIdp(req->idp_id(), req->department_id() != 0));
    if (!v1::UserStatus_IsValid(req->status())) return absl::InvalidArgumentError("status: unknown value");
    ASSIGN_OR_RETURN(auto page_size, common::ResolvePageSize(req->page_size(), 100, 1000));
    ASSIGN_OR_RETURN(auto after, UserCursor(kUsersToken, req->page_token()));
    ASSIGN_OR_RETURN(auto page, reader_.ListUsers(req->tenant_id(), idp, req->department_id(),
                                                req->include_descendants(), req->status(), page_size, after));
    for (auto& u : page.users) *resp->add_users() = std::move(u);
    if (!page.next_after_user_id.empty()) {
      resp->set_next_page_token(common::EncodePageToken(kUsersToken, page.next_after_user_id));
    }
    return absl::OkStatus();
  });
}

grpc::Status DirectoryServiceImpl::SearchUsers(grpc::ServerContext*, const v1::SearchUsersRequest* req,
                                               v1::SearchUsersResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckTenant(req->tenant_id()));
    ASSIGN_OR_RETURN(auto idp, CheckIdp(req->idp_id(), false));
    const int64_t chars = common::Utf8Length(req->query());
    if (chars < 0) return absl::InvalidArgumentError("query: not valid UTF-8");
    if (chars == 0) return absl::InvalidArgumentError("query: required");
    if (chars > kMaxQueryChars) {
      return absl::InvalidArgumentError(absl::StrCat("query: longer than ", kMaxQueryChars, " characters"));
    }
    ASSIGN_OR_RETURN(auto page_size, common::ResolvePageSize(req->page_size(), 20, 200));
    ASSIGN_OR_RETURN(auto after, UserCursor(kSearchToken, req->page_token()));
    ASSIGN_OR_RETURN(auto page, reader_.SearchUsers(req->tenant_id(), idp, req->query(), page_size, after));
    for (auto& u : page.users) *resp->add_users() = std::move(u);
    if (!page.next_after_user_id.empty()) {
      resp->set_next_page_token(common::EncodePageToken(kSearchToken, page.next_after_user_id));
    }
    return absl::OkStatus();
  });
}

grpc::Status DirectoryServiceImpl::GetDepartment(grpc::ServerContext*, const v1::GetDepartmentRequest* req,
                                                 v1::Department* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckTenant(req->tenant_id()));
    ASSIGN_OR_RETURN(auto idp, CheckIdp(req->idp_id(), true));
    RETURN_IF_ERROR(common::ValidatePositive("department_id", req->department_id()));
    ASSIGN_OR_RETURN(auto dept, reader_.GetDepartment(req->tenant_id(), idp, req->department_id()));
    *resp = std::move(dept);
    return absl::OkStatus();
  });
}

grpc::Status DirectoryServiceImpl::ListDepartments(grpc::ServerContext*, const v1::ListDepartmentsRequest* req,
                                                   v1::ListDepartmentsResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckTenant(req->tenant_id()));
    ASSIGN_OR_RETURN(auto idp, CheckIdp(req->idp_id(), true));
    if (req->parent_id() < 0) return absl::InvalidArgumentError("parent_id: must not be negative");
    ASSIGN_OR_RETURN(auto page_size, common::ResolvePageSize(req->page_size(), 100, 1000));
    int64_t after = 0;
    if (!req->page_token().empty()) {
      ASSIGN_OR_RETURN(auto payload, common::DecodePageToken(kDeptsToken, req->page_token()));
      if (!absl::SimpleAtoi(payload, &after) || after <= 0) return absl::InvalidArgumentError("page_token: malformed");
    }
    ASSIGN_OR_RETURN(auto page, reader_.ListDepartments(req->tenant_id(), idp, req->parent_id(), req->subtree(),
                                                      page_size, after));
    for (auto& d : page.departments) *resp->add_departments() = std::move(d);
    if (page.next_after_dept_id != 0) {
      resp->set_next_page_token(common::EncodePageToken(kDeptsToken, absl::StrCat(page.next_after_dept_id)));
    }
    return absl::OkStatus();
  });
}

grpc::Status DirectoryServiceImpl::ListUserDepartments(grpc::ServerContext*,
                                                       const v1::ListUserDepartmentsRequest* req,
                                                       v1::ListUserDepartmentsResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckTenant(req->tenant_id()));
    ASSIGN_OR_RETURN(auto id, CheckUserId(req->user_id()));
    ASSIGN_OR_RETURN(auto r, reader_.ListUserDepartments(req->tenant_id(), id));
    *resp = std::move(r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DirectoryServiceImpl::CheckMembership(grpc::CallbackServerContext* ctx,
                                                                const v1::CheckMembershipRequest* req,
                                                                v1::CheckMembershipResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(DoCheckMembership(*req, resp));
  return reactor;
}

grpc::Status DirectoryServiceImpl::DoCheckMembership(const v1::CheckMembershipRequest& request,
                                                     v1::CheckMembershipResponse* resp) {
  return common::Serve([&]() -> absl::Status {
    const v1::CheckMembershipRequest* req = &request;
    RETURN_IF_ERROR(CheckTenant(req->tenant_id()));
    ASSIGN_OR_RETURN(auto id, CheckUserId(req->user_id()));
    RETURN_IF_ERROR(common::ValidatePositive("department_id", req->department_id()));
    ASSIGN_OR_RETURN(auto m, options_.cache != nullptr
                               ? options_.cache->CheckMembership(req->tenant_id(), id, req->department_id())
                               : reader_.CheckMembership(req->tenant_id(), id, req->department_id()));
    resp->set_member(m.member);
    resp->set_direct(m.direct);
    return absl::OkStatus();
  });
}

grpc::Status DirectoryServiceImpl::WatchChanges(grpc::ServerContext* ctx, const v1::WatchChangesRequest* req,
                                                grpc::ServerWriter<v1::Change>* writer) {
  return common::Serve([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckTenant(req->tenant_id()));
    ASSIGN_OR_RETURN(auto idp, CheckIdp(req->idp_id(), false));
    if (req->after_seq() < 0) return absl::InvalidArgumentError("after_seq: must not be negative");
    int64_t cursor = req->after_seq();
    if (req->from_now()) {
      ASSIGN_OR_RETURN(auto latest, reader_.LatestSeq());
      cursor = latest;
    }
    // Headers go out now so the client knows the stream is established, with the position it
    // starts after: a client that loses the stream before the first change resumes from there.
    ctx->AddInitialMetadata(std::string(common::kWatchCursorHeader), absl::StrCat(cursor));
    writer->SendInitialMetadata();
    while (true) {
      if (ctx->IsCancelled()) return absl::CancelledError("client cancelled");
      if (notifier_.stopped()) return absl::UnavailableError("server shutting down");
      // Read the generation before the log so a commit after the read always wakes us.
      uint64_t seen = notifier_.generation();
      absl::StatusOr<std::vector<v1::Change>> batch =
          reader_.ReadChanges(req->tenant_id(), idp, cursor, options_.watch_batch);
      if (!batch.ok()) return batch.status();
      for (const v1::Change& change : *batch) {
        if (!writer->Write(change)) return absl::CancelledError("stream closed");
        cursor = change.seq();
      }
      if (static_cast<int>(batch->size()) == options_.watch_batch) continue;  // catching up
      while (!notifier_.WaitForChange(seen, options_.cancel_check)) {
        if (ctx->IsCancelled() || notifier_.stopped()) break;
      }
    }
  });
}

}  // namespace sase::directory

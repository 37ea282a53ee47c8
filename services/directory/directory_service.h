#pragma once
// sase.dingtalk.v1.DirectoryService over DirectoryReader: validate, call the reader, map back.

#include <chrono>
#include <cstdint>

#include "sase/dingtalk/v1/directory.grpc.pb.h"
#include "directory/change_notifier.h"
#include "directory/user_cache.h"
#include "store/directory_reader.h"

namespace sase::directory {

struct DirectoryServiceOptions {
  // Change-log rows fetched per read while a watcher catches up.
  int watch_batch = 500;
  // How often a waiting watcher checks for client cancellation.
  std::chrono::milliseconds cancel_check{200};
  // Serves GetUser and CheckMembership when set (started, outlives the service); else every
  // read goes to the database.
  UserCache* cache = nullptr;
};

// GetUser and CheckMembership (the hot, usually cached reads) use the callback API and answer
// inline on gRPC's threads; the other methods are synchronous.
using DirectoryServiceBase = dingtalk::v1::DirectoryService::WithCallbackMethod_GetUser<
    dingtalk::v1::DirectoryService::WithCallbackMethod_CheckMembership<dingtalk::v1::DirectoryService::Service>>;

class DirectoryServiceImpl final : public DirectoryServiceBase {
 public:
  DirectoryServiceImpl(store::DirectoryReader& reader, ChangeNotifier& notifier, DirectoryServiceOptions options = {})
      : reader_(reader), notifier_(notifier), options_(options) {}

  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* ctx, const dingtalk::v1::GetUserRequest* req,
                                    dingtalk::v1::User* resp) override;
  grpc::Status BatchGetUsers(grpc::ServerContext* ctx, const dingtalk::v1::BatchGetUsersRequest* req,
                             dingtalk::v1::BatchGetUsersResponse* resp) override;
  grpc::Status LookupUser(grpc::ServerContext* ctx, const dingtalk::v1::LookupUserRequest* req,
                          dingtalk::v1::LookupUserResponse* resp) override;
  grpc::Status ListUsers(grpc::ServerContext* ctx, const dingtalk::v1::ListUsersRequest* req,
                         dingtalk::v1::ListUsersResponse* resp) override;
  grpc::Status SearchUsers(grpc::ServerContext* ctx, const dingtalk::v1::SearchUsersRequest* req,
                           dingtalk::v1::SearchUsersResponse* resp) override;
  grpc::Status GetDepartment(grpc::ServerContext* ctx, const dingtalk::v1::GetDepartmentRequest* req,
                             dingtalk::v1::Department* resp) override;
  grpc::Status ListDepartments(grpc::ServerContext* ctx, const dingtalk::v1::ListDepartmentsRequest* req,
                               dingtalk::v1::ListDepartmentsResponse* resp) override;
  grpc::Status ListUserDepartments(grpc::ServerContext* ctx, const dingtalk::v1::ListUserDepartmentsRequest* req,
                                   dingtalk::v1::ListUserDepartmentsResponse* resp) override;
  grpc::ServerUnaryReactor* CheckMembership(grpc::CallbackServerContext* ctx,
                                            const dingtalk::v1::CheckMembershipRequest* req,
                                            dingtalk::v1::CheckMembershipResponse* resp) override;
  grpc::Status WatchChanges(grpc::ServerContext* ctx, const dingtalk::v1::WatchChangesRequest* req,
                            grpc::ServerWriter<dingtalk::v1::Change>* writer) override;

  static constexpr int kMaxBatchGet = 500;
  static constexpr int kMaxLookupKeyLength = 256;
  static constexpr int kMaxQueryChars = 100;

 private:
  grpc::Status DoGetUser(const dingtalk::v1::GetUserRequest& req, dingtalk::v1::User* resp);
  grpc::Status DoCheckMembership(const dingtalk::v1::CheckMembershipRequest& req,
                                 dingtalk::v1::CheckMembershipResponse* resp);

  store::DirectoryReader& reader_;
  ChangeNotifier& notifier_;
  DirectoryServiceOptions options_;
};

}  // namespace sase::directory

#include "sasectl/render.h"

#include <algorithm>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "sasectl/table.h"

namespace sase::sasectl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string EnumShort(const std::string& name, absl::string_view prefix) {
  if (name.empty() || absl::StrContains(name, "UNSPECIFIED")) return "-";
  std::string s(absl::StripPrefix(name, prefix));
  return absl::AsciiStrToLower(s);
}

std::string YesNo(bool b) { return b ? "yes" : "no"; }

std::string Ids(const google::protobuf::RepeatedField<int64_t>& ids, absl::string_view sep) {
  return ids.empty() ? "-" : absl::StrJoin(ids, sep);
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string Fraction(int64_t done, int64_t total) {
  return total > 0 ? absl::StrCat(done, "/", total) : absl::StrCat(done, "/?");
}

// Masks secrets anywhere in a message tree: any string field named app_secret, aes_key or token.
void RedactTree(Message& m) {
  const google::protobuf::Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING && !f->is_repeated() &&
        (f->name() == "app_secret" || f->name() == "aes_key" || f->name() == "token")) {
      if (!r->GetString(m, f).empty()) r->SetString(&m, f, kSecretMask);
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_map()) {
      if (f->is_repeated()) {
        for (int k = 0; k < r->FieldSize(m, f); ++k) RedactTree(*r->MutableRepeatedMessage(&m, f, k));
      } else if (r->HasField(m, f)) {
        RedactTree(*r->MutableMessage(&m, f));
      }
    }
  }
}

std::string SecretsSummary(const v1::IdentitySource& s) {
  std::vector<std::string> set;
  if (s.app_secret_set() || !s.app_secret().empty()) set.push_back("app_secret");
  if (s.aes_key_set() || !s.aes_key().empty()) set.push_back("aes_key");
  if (s.token_set() || !s.token().empty()) set.push_back("token");
  return set.empty() ? "-" : absl::StrJoin(set, ",");
}

// A logon start URL as the client calls it; "-" from a server that predates logon.
std::string LoginStartHint(const std::string& url) {
  return url.empty() ? "-" : url + "?redirect_uri=<client redirect>";
}

std::string SetOrNot(bool set) { return set ? "set (hidden)" : "not set"; }

std::string UserLabel(const v1::User& u) {
  return absl::StrCat(u.name().empty() ? "?" : u.name(), " (", OrDash(u.dingtalk_userid()), ", ",
                      OrDash(u.user_id()), ")");
}

}  // namespace

void RedactSecrets(v1::IdentitySource& source) { RedactTree(source); }

std::string ToJson(const Message& message) {
  std::unique_ptr<Message> copy(message.New());
  copy->CopyFrom(message);
  RedactTree(*copy);
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(*copy, &out, options);
  if (!status.ok()) return absl::StrCat("{\"error\":\"cannot render JSON\"}\n");
  out += '\n';
  return out;
}

std::string StatusName(v1::IdentitySourceStatus s) { return EnumShort(v1::IdentitySourceStatus_Name(s), ""); }
std::string TypeName(v1::DingTalkType t) { return EnumShort(v1::DingTalkType_Name(t), ""); }
std::string UserStatusName(v1::UserStatus s) { return EnumShort(v1::UserStatus_Name(s), "USER_"); }
std::string FieldTypeName(v1::FieldType t) { return EnumShort(v1::FieldType_Name(t), "FIELD_"); }
std::string RunStateName(v1::SyncRunState s) { return EnumShort(v1::SyncRunState_Name(s), ""); }
std::string ChangeKindName(v1::ChangeKind k) { return EnumShort(v1::ChangeKind_Name(k), "CHANGE_"); }

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()), absl::UTCTimeZone());
}

std::string RenderIdentitySources(const std::vector<v1::IdentitySource>& sources) {
  Table t({"IDP_ID", "NAME", "STATUS", "TYPE", "CORP_ID", "APP_KEY", "AUTO_SYNC", "CYCLE_H", "SECRETS", "VERSION"});
  for (const v1::IdentitySource& s : sources) {
    t.AddRow({s.idp_id(), s.name(), StatusName(s.status()), TypeName(s.dingtalk_type()), OrDash(s.corp_id()),
              OrDash(s.app_key()), YesNo(s.auto_sync()), absl::StrCat(s.sync_cycle_hours()), SecretsSummary(s),
              absl::StrCat(s.version())});
  }
  return t.Render();
}

std::string RenderIdentitySource(const v1::IdentitySource& s) {
  std::vector<std::string> maps;
  for (const v1::FieldMapping& m : s.field_mappings()) maps.push_back(m.source_field() + "=" + m.target_field());
  std::string scope = s.scope().root_department_ids().empty()
                          ? "all"
                          : absl::StrCat("departments ", absl::StrJoin(s.scope().root_department_ids(), ","));
  const v1::DeletionGuard& g = s.deletion_guard();
  return RenderKeyValues({
      {"idp_id", s.idp_id()},
      {"tenant", s.tenant_id()},
      {"name", s.name()},
      {"description", OrDash(s.description())},
      {"status", StatusName(s.status())},
      {"type", TypeName(s.dingtalk_type())},
      {"corp_id", OrDash(s.corp_id())},
      {"app_key", OrDash(s.app_key())},
      {"app_secret", SetOrNot(s.app_secret_set() || !s.app_secret().empty())},
      {"aes_key", SetOrNot(s.aes_key_set() || !s.aes_key().empty())},
      {"token", SetOrNot(s.token_set() || !s.token().empty())},
      {"accept_corp_id_receiver", YesNo(s.accept_corp_id_receiver())},
      {"auto_sync", YesNo(s.auto_sync())},
      {"sync_user_info", YesNo(s.sync_user_info())},
      {"sync_cycle_hours", absl::StrCat(s.sync_cycle_hours())},
      {"scope", scope},
      {"field_mappings", maps.empty() ? "-" : absl::StrJoin(maps, ", ")},
      {"login_redirect_uris",
       s.login_redirect_uris().empty() ? "- (cannot log on)" : absl::StrJoin(s.login_redirect_uris(), ", ")},
      {"deletion_guard", absl::StrCat("max ", g.max_departures() == 0 ? "default" : absl::StrCat(g.max_departures()),
                                      " departures, ",
                                      g.max_departure_percent() == 0 ? "default" : absl::StrCat(g.max_departure_percent()),
                                      " %")},
      {"created", FormatTime(s.create_time())},
      {"updated", FormatTime(s.update_time())},
      {"version", absl::StrCat(s.version())},
  });
}

std::string RenderIntegrationLinks(const v1::IntegrationLinks& l) {
  return RenderKeyValues({{"event request URL", l.event_request_url()},
                          {"application homepage", l.homepage_url()},
                          {"callback URL", l.callback_url()},
                          {"logon start", LoginStartHint(l.login_url())},
                          {"logon start (QR code)", LoginStartHint(l.qr_login_url())}});
}

std::string RenderTenantSettings(const v1::TenantSettings& t) {
  return RenderKeyValues({{"tenant", t.tenant_id()},
                          {"enterprise_id", t.enterprise_id().empty() ? "- (no logon discovery)" : t.enterprise_id()},
                          {"version", absl::StrCat(t.version())},
                          {"updated", t.version() == 0 ? "-" : FormatTime(t.update_time())}});
}

std::string RenderConnectivity(const v1::TestConnectivityResponse& r) {
  Table t({"STEP", "OK", "REASON", "MS", "DETAIL"});
  for (const v1::ConnectivityStep& s : r.steps()) {
    t.AddRow({s.name(), YesNo(s.ok()), OrDash(s.reason()), absl::StrCat(s.elapsed_ms()), OrDash(s.detail())});
  }
  return absl::StrCat(t.Render(), "result: ", r.ok() ? "ok" : "FAILED", "\n");
}

std::string RenderMappableFields(const v1::ListMappableFieldsResponse& r) {
  Table t({"DIRECTION", "NAME", "DISPLAY_NAME", "TYPE"});
  for (const v1::MappableField& f : r.source_fields()) {
    t.AddRow({"source", f.name(), f.display_name(), FieldTypeName(f.type())});
  }
  for (const v1::MappableField& f : r.target_fields()) {
    t.AddRow({"target", f.name(), f.display_name(), FieldTypeName(f.type())});
  }
  return t.Render();
}

std::string RenderExtendedFields(const std::vector<v1::ExtendedField>& fields) {
  Table t({"NAME", "DISPLAY_NAME", "TYPE", "UPDATED"});
  for (const v1::ExtendedField& f : fields) {
    t.AddRow({f.name(), f.display_name(), FieldTypeName(f.type()), FormatTime(f.update_time())});
  }
  return t.Render();
}

std::string RenderExtendedField(const v1::ExtendedField& f) {
  return RenderKeyValues({{"name", f.name()},
                          {"display_name", f.display_name()},
                          {"type", FieldTypeName(f.type())},
                          {"created", FormatTime(f.create_time())},
                          {"updated", FormatTime(f.update_time())}});
}

std::string RenderUsers(const std::vector<v1::User>& users) {
  Table t({"USER_ID", "USERID", "NAME", "STATUS", "EMAIL", "MOBILE", "TITLE", "DEPTS"});
  for (const v1::User& u : users) {
    t.AddRow({u.user_id(), u.dingtalk_userid(), u.name(), UserStatusName(u.status()), OrDash(u.email()),
              OrDash(u.mobile()), OrDash(u.title()), Ids(u.department_ids(), ",")});
  }
  return t.Render();
}

std::string RenderUser(const v1::User& u) {
  std::vector<std::pair<std::string, std::string>> rows = {
      {"user_id", u.user_id()},
      {"idp_id", u.idp_id()},
      {"dingtalk_userid", u.dingtalk_userid()},
      {"unionid", OrDash(u.unionid())},
      {"name", u.name()},
      {"status", UserStatusName(u.status())},
      {"active", YesNo(u.active())},
      {"email", OrDash(u.email())},
      {"org_email", OrDash(u.org_email())},
      {"mobile", OrDash(u.mobile())},
      {"job_number", OrDash(u.job_number())},
      {"title", OrDash(u.title())},
      {"manager_userid", OrDash(u.manager_userid())},
      {"departments", Ids(u.department_ids(), ",")},
      {"leads", Ids(u.leader_department_ids(), ",")},
      {"hired", FormatTime(u.hired_time())},
      {"created", FormatTime(u.create_time())},
      {"updated", FormatTime(u.update_time())},
      {"version", absl::StrCat(u.version())},
  };
  std::vector<std::pair<std::string, std::string>> attrs(u.attributes().begin(), u.attributes().end());
  std::sort(attrs.begin(), attrs.end());
  for (auto& [k, v] : attrs) rows.emplace_back("attr." + k, v);
  return RenderKeyValues(rows);
}

std::string RenderDepartments(const std::vector<v1::Department>& departments) {
  Table t({"DEPT_ID", "NAME", "PARENT", "MEMBERS", "PATH"});
  for (const v1::Department& d : departments) {
    std::string path = absl::StrJoin(d.ancestor_ids(), "/");
    absl::StrAppend(&path, path.empty() ? "" : "/", d.department_id());
    t.AddRow({absl::StrCat(d.department_id()), d.name(), absl::StrCat(d.parent_id()), absl::StrCat(d.member_count()),
              path});
  }
  return t.Render();
}

std::string RenderDepartment(const v1::Department& d) {
  return RenderKeyValues({{"department_id", absl::StrCat(d.department_id())},
                          {"idp_id", d.idp_id()},
                          {"name", d.name()},
                          {"parent_id", absl::StrCat(d.parent_id())},
                          {"ancestors", Ids(d.ancestor_ids(), " > ")},
                          {"order", absl::StrCat(d.order())},
                          {"members", absl::StrCat(d.member_count())},
                          {"updated", FormatTime(d.update_time())},
                          {"version", absl::StrCat(d.version())}});
}

std::string RenderUserDepartments(const v1::ListUserDepartmentsResponse& r) {
  Table t({"RELATION", "DEPT_ID", "NAME", "PARENT"});
  for (const v1::Department& d : r.direct()) {
    t.AddRow({"direct", absl::StrCat(d.department_id()), d.name(), absl::StrCat(d.parent_id())});
  }
  for (const v1::Department& d : r.ancestors()) {
    t.AddRow({"ancestor", absl::StrCat(d.department_id()), d.name(), absl::StrCat(d.parent_id())});
  }
  return t.Render();
}

std::string RenderMembership(const v1::CheckMembershipRequest& req, const v1::CheckMembershipResponse& r) {
  std::string verdict = !r.member() ? "not a member" : (r.direct() ? "member (direct)" : "member (via a sub-department)");
  return absl::StrCat(SanitizeForTerminal(req.user_id()), " in department ", req.department_id(), ": ", verdict, "\n");
}

namespace {

// "waiting for DingTalk until <time> (<reason>)" while a run is paused by an outage, else "".
std::string WaitingNote(const v1::SyncProgress& p) {
  if (!p.has_waiting_until()) return "";
  return absl::StrCat("waiting for DingTalk until ", FormatTime(p.waiting_until()), " (",
                      SanitizeForTerminal(OrDash(p.waiting_reason())), ")");
}

}  // namespace

std::string RenderSyncRuns(const std::vector<v1::SyncRun>& runs) {
  Table t({"RUN_ID", "IDP_ID", "STATE", "TRIGGER", "STARTED", "ENDED", "DEPTS", "USERS", "FAILURE"});
  for (const v1::SyncRun& r : runs) {
    t.AddRow({r.run_id(), r.idp_id(), RunStateName(r.state()), EnumShort(v1::SyncTrigger_Name(r.trigger()), ""),
              FormatTime(r.start_time()), FormatTime(r.end_time()),
              Fraction(r.progress().departments_done(), r.progress().departments_total()),
              Fraction(r.progress().users_done(), r.progress().users_total()), OrDash(r.failure_reason())});
  }
  return t.Render();
}

std::string RenderSyncRun(const v1::SyncRun& r) {
  const v1::SyncCounts& c = r.counts();
  std::vector<std::pair<std::string, std::string>> rows = {
      {"run_id", r.run_id()},
      {"idp_id", r.idp_id()},
      {"state", RunStateName(r.state())},
      {"trigger", EnumShort(v1::SyncTrigger_Name(r.trigger()), "")},
      {"departments_only", YesNo(r.departments_only())},
      {"started", FormatTime(r.start_time())},
      {"ended", FormatTime(r.end_time())},
      {"departments", Fraction(r.progress().departments_done(), r.progress().departments_total())},
      {"users", Fraction(r.progress().users_done(), r.progress().users_total())},
      {"departments created/updated/deleted",
       absl::StrCat(c.departments_created(), "/", c.departments_updated(), "/", c.departments_deleted())},
      {"users created/updated/departed",
       absl::StrCat(c.users_created(), "/", c.users_updated(), "/", c.users_departed())},
      {"departures held", absl::StrCat(c.users_held())},
      {"api calls (throttled)", absl::StrCat(c.api_calls(), " (", c.throttles(), ")")},
  };
  if (r.progress().has_waiting_until()) rows.emplace_back("waiting", WaitingNote(r.progress()));
  if (!r.failure_reason().empty() || !r.failure_detail().empty()) {
    rows.emplace_back("failure", absl::StrCat(OrDash(r.failure_reason()), r.failure_detail().empty() ? "" : ": ",
                                              r.failure_detail()));
  }
  return RenderKeyValues(rows);
}

bool IsTerminal(v1::SyncRunState state) {
  return state == v1::SUCCEEDED || state == v1::AWAITING_APPROVAL || state == v1::FAILED || state == v1::CANCELLED;
}

std::string RenderProgress(const v1::SyncRun& r, int bar_width) {
  const v1::SyncProgress& p = r.progress();
  int64_t done = p.departments_done() + p.users_done();
  int64_t total = p.departments_total() + p.users_total();
  double fraction = total > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0) : 0.0;
  if (r.state() == v1::SUCCEEDED) fraction = 1.0;
  int filled = static_cast<int>(fraction * bar_width + 0.5);
  filled = std::clamp(filled, 0, bar_width);
  std::string bar = absl::StrCat("[", std::string(static_cast<size_t>(filled), '#'),
                                 std::string(static_cast<size_t>(bar_width - filled), '.'), "]");
  return absl::StrCat(bar, " ", static_cast<int>(fraction * 100 + 0.5), "%  departments ",
                      Fraction(p.departments_done(), p.departments_total()), "  users ",
                      Fraction(p.users_done(), p.users_total()), "  ", RunStateName(r.state()),
                      p.has_waiting_until() ? "  " : "", WaitingNote(p));
}

std::string RenderChangeLine(const v1::Change& c) {
  std::string object;
  if (c.has_user()) {
    object = absl::StrCat("user ", UserLabel(c.user()), " ", UserStatusName(c.user().status()));
  } else if (c.has_department()) {
    object = absl::StrCat("dept ", c.department().department_id(), " ", c.department().name());
  } else if (!c.identity_source_status().empty()) {
    object = absl::StrCat("idp status=", c.identity_source_status());
  }
  std::string line = absl::StrCat(c.seq(), "  ", FormatTime(c.commit_time()), "  ", ChangeKindName(c.kind()), "  idp=",
                                  OrDash(c.idp_id()), "  ", object, object.empty() ? "" : "  ", "origin=",
                                  OrDash(c.origin()));
  return SanitizeForTerminal(line) + "\n";
}

}  // namespace sase::sasectl

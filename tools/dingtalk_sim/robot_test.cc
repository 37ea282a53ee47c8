// The simulator's custom robot: token, timestamp window, signature, body checks, the 20-per-minute
// limit with its mute, and the admin read-back over HTTP.
#include "dingtalk_sim/robot.h"

#include <httplib.h>

#include <atomic>

#include "dingtalk/robot_signature.h"
#include "dingtalk_sim/sim_server.h"
#include "gtest/gtest.h"

namespace sase::dingtalk_sim {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'700'000'000'000;

std::string Markdown(const std::string& title, const std::string& text) {
  return json{{"msgtype", "markdown"}, {"markdown", {{"title", title}, {"text", text}}}}.dump();
}

class RobotSimTest : public ::testing::Test {
 protected:
  RobotSimTest() : robot_(Options()) {}

  RobotOptions Options() {
    RobotOptions o;
    o.now_ms = [this] { return now_.load(); };
    return o;
  }
  json SendSigned(const std::string& body, int64_t ts) {
    return robot_.Send(opt_.access_token, std::to_string(ts), dingtalk::RobotSignature(ts, opt_.secret), body);
  }
  json SendSigned(const std::string& body) { return SendSigned(body, now_.load()); }

  RobotOptions opt_;  // defaults: the token and secret RobotSim was built with
  std::atomic<int64_t> now_{kNow};
  RobotSim robot_;
};

TEST_F(RobotSimTest, AcceptsASignedMarkdownMessageAndRecordsIt) {
  json answer = SendSigned(Markdown("[FIRING:1] X", "### hello"));
  EXPECT_EQ(answer, (json{{"errcode", 0}, {"errmsg", "ok"}}));
  json dump = robot_.Dump();
  ASSERT_EQ(dump["messages"].size(), 1u);
  EXPECT_EQ(dump["messages"][0]["title"], "[FIRING:1] X");
  EXPECT_EQ(dump["messages"][0]["text"], "### hello");
  EXPECT_EQ(dump["messages"][0]["timestamp"], kNow);
  EXPECT_EQ(dump["accepted"], 1);
}

TEST_F(RobotSimTest, RefusesAWrongOrMissingToken) {
  const int64_t ts = now_.load();
  const std::string sign = dingtalk::RobotSignature(ts, opt_.secret);
  EXPECT_EQ(robot_.Send("other", std::to_string(ts), sign, Markdown("t", "x"))["errcode"], 300001);
  EXPECT_EQ(robot_.Send("", std::to_string(ts), sign, Markdown("t", "x"))["errcode"], 300001);
  EXPECT_EQ(robot_.Dump()["rejected"]["300001"], 2);
  EXPECT_EQ(robot_.Dump()["accepted"], 0);
}

TEST_F(RobotSimTest, RefusesABadSignature) {
  const int64_t ts = now_.load();
  const std::string body = Markdown("t", "x");
  json wrong_secret = robot_.Send(opt_.access_token, std::to_string(ts), dingtalk::RobotSignature(ts, "SECother"), body);
  EXPECT_EQ(wrong_secret["errcode"], 310000);
  EXPECT_NE(wrong_secret["errmsg"].get<std::string>().find("sign not match"), std::string::npos);
  // Signed for another timestamp, or no sign at all.
  EXPECT_EQ(robot_.Send(opt_.access_token, std::to_string(ts), dingtalk::RobotSignature(ts + 1, opt_.secret), body)
                ["errcode"],
            310000);
  EXPECT_EQ(robot_.Send(opt_.access_token, std::to_string(ts), "", body)["errcode"], 310000);
  // A sign whose '+' was not URL-encoded arrives as a space.
  std::string mangled = dingtalk::RobotSignature(ts, opt_.secret);
  for (char& c : mangled) {
    if (c == '+' || c == '/') c = ' ';
  }
  if (mangled != dingtalk::RobotSignature(ts, opt_.secret)) {
    EXPECT_EQ(robot_.Send(opt_.access_token, std::to_string(ts), mangled, body)["errcode"], 310000);
  }
  EXPECT_EQ(robot_.Dump()["accepted"], 0);
}

TEST_F(RobotSimTest, RefusesATimestampMoreThanAnHourOff) {
  const std::string body = Markdown("t", "x");
  EXPECT_EQ(SendSigned(body, kNow - 3600 * 1000 - 1)["errmsg"], "invalid timestamp");
  EXPECT_EQ(SendSigned(body, kNow + 3600 * 1000 + 1)["errcode"], 310000);
  EXPECT_EQ(robot_.Send(opt_.access_token, "", dingtalk::RobotSignature(kNow, opt_.secret), body)["errcode"], 310000);
  EXPECT_EQ(robot_.Send(opt_.access_token, "soon", "", body)["errcode"], 310000);
  // Just inside the window on both sides.
  EXPECT_EQ(SendSigned(body, kNow - 3600 * 1000)["errcode"], 0);
  EXPECT_EQ(SendSigned(body, kNow + 3600 * 1000)["errcode"], 0);
}

TEST_F(RobotSimTest, ChecksTheBody) {
  EXPECT_EQ(SendSigned("not json")["errcode"], 40035);
  EXPECT_EQ(SendSigned(R"({"msgtype":"image"})")["errcode"], 40035);
  EXPECT_EQ(SendSigned(R"({"msgtype":"markdown","markdown":{"title":"t"}})")["errcode"], 40035);
  EXPECT_EQ(SendSigned(R"({"msgtype":"markdown","markdown":{"text":"x"}})")["errcode"], 40035);
  EXPECT_EQ(SendSigned(R"({"msgtype":"text","text":{"content":"plain"}})")["errcode"], 0);
  EXPECT_EQ(SendSigned(Markdown("t", std::string(20001, 'x')))["errcode"], 460101);
  EXPECT_EQ(SendSigned(Markdown("t", std::string(20000, 'x')))["errcode"], 0);
}

TEST_F(RobotSimTest, TwentyPerMinuteThenMutedUntilTheMuteEnds) {
  const std::string body = Markdown("t", "x");
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(SendSigned(body)["errcode"], 0) << i;
    now_ += 1000;  // 20 messages within 20 s
  }
  json over = SendSigned(body);
  EXPECT_EQ(over["errcode"], 410100);
  EXPECT_EQ(over["errmsg"], "send too fast, exceed 20 times per minute");
  // The minute has passed, but the robot stays muted for mute_s (600 s).
  now_ += 60 * 1000;
  EXPECT_EQ(SendSigned(body)["errcode"], 410100);
  now_ += 600 * 1000;
  EXPECT_EQ(SendSigned(body)["errcode"], 0);
  json dump = robot_.Dump();
  EXPECT_EQ(dump["accepted"], 21);
  EXPECT_EQ(dump["rejected"]["410100"], 2);
}

TEST_F(RobotSimTest, TheWindowSlides) {
  const std::string body = Markdown("t", "x");
  for (int i = 0; i < 20; ++i) ASSERT_EQ(SendSigned(body)["errcode"], 0);
  now_ += 60 * 1000;  // the first 20 have left the window
  for (int i = 0; i < 20; ++i) ASSERT_EQ(SendSigned(body)["errcode"], 0) << i;
  EXPECT_EQ(SendSigned(body)["errcode"], 410100);
}

TEST_F(RobotSimTest, ResetForgetsEverything) {
  const std::string body = Markdown("t", "x");
  for (int i = 0; i < 21; ++i) SendSigned(body);
  robot_.Reset();
  json dump = robot_.Dump();
  EXPECT_TRUE(dump["messages"].empty());
  EXPECT_EQ(dump["accepted"], 0);
  EXPECT_TRUE(dump["rejected"].empty());
  EXPECT_EQ(SendSigned(body)["errcode"], 0);
}

TEST(RobotSimNoSecret, SkipsTheSignatureCheck) {
  RobotOptions o;
  o.secret = "";
  RobotSim robot(o);
  EXPECT_EQ(robot.Send(o.access_token, "", "", Markdown("t", "x"))["errcode"], 0);
}

// Over HTTP: the query is URL-decoded, the answer is HTTP 200 JSON, the admin API reads back.
TEST(RobotSimHttp, SendAndReadBack) {
  SimOptions opt;
  opt.generator = {.seed = 1, .users = 5, .departments = 2, .max_depth = 2};
  opt.threads = 2;
  auto server = SimServer::Start(opt);
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  const int64_t ts = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const std::string sign = dingtalk::RobotSignature(ts, opt.robot.secret);
  httplib::Params params = {{"access_token", opt.robot.access_token}, {"timestamp", std::to_string(ts)}, {"sign", sign}};
  const std::string path = httplib::append_query_params("/robot/send", params);
  auto r = client.Post(path.c_str(), Markdown("标题", "**正文** <b>"), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["errcode"], 0) << r->body;
  auto bad = client.Post(httplib::append_query_params("/robot/send", {{"access_token", "nope"}}).c_str(),
                         Markdown("t", "x"), "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(json::parse(bad->body)["errcode"], 300001);

  auto read = client.Get("/admin/robot/messages");
  ASSERT_TRUE(read);
  json dump = json::parse(read->body);
  ASSERT_EQ(dump["messages"].size(), 1u);
  EXPECT_EQ(dump["messages"][0]["title"], "标题");
  EXPECT_EQ(dump["messages"][0]["text"], "**正文** <b>");
  EXPECT_EQ(dump["rejected"]["300001"], 1);
  auto reset = client.Post("/admin/robot/reset", "", "application/json");
  ASSERT_TRUE(reset);
  EXPECT_EQ(json::parse(client.Get("/admin/robot/messages")->body)["accepted"], 0);
}

}  // namespace
}  // namespace sase::dingtalk_sim

// The robot signature against vectors computed outside this code, and RobotClient's request and its
// reading of DingTalk's answers (through a fake transport).
#include "alert_relay/robot_client.h"

#include "alert_relay/testing/fake_transport.h"
#include "common/testing/fake_clock.h"
#include "dingtalk/error.h"
#include "dingtalk/robot_signature.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sase::alert_relay {
namespace {

using nlohmann::json;

// Computed with OpenSSL's command line and cross-checked with Python (hmac + base64 +
// urllib.parse.quote_plus), not with the code under test:
//   printf '%s\n%s' 1700000000000 "$SECRET" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
constexpr char kSecret[] = "SECb6f3a1c0d2e94f7a8b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012";
constexpr int64_t kTs0 = 1700000000000;
constexpr char kSign0[] = "VuuKMQ4btjsWzShADvfzF7PHUHGvWP5ePObTFy+hWd8=";
constexpr char kSign0Url[] = "VuuKMQ4btjsWzShADvfzF7PHUHGvWP5ePObTFy%2BhWd8%3D";
constexpr int64_t kTs8 = 1700000000008;
constexpr char kSign8[] = "/M/2FgbkssmkfGQuwdLs49YfaDsHtfCH6lVxY/rwAR0=";
constexpr char kSign8Url[] = "%2FM%2F2FgbkssmkfGQuwdLs49YfaDsHtfCH6lVxY%2FrwAR0%3D";
// DingTalk's documentation example secret "this is secret", same command.
constexpr char kDocSecret[] = "this is secret";
constexpr char kDocSign8[] = "jDQ8nr24WZRsFO1u4Bt/jNTyXCAHXcHI2DWWfB8V4k8=";

TEST(RobotSignature, MatchesOpenSslVectors) {
  EXPECT_EQ(dingtalk::RobotSignature(kTs0, kSecret), kSign0);
  EXPECT_EQ(dingtalk::RobotSignature(kTs8, kSecret), kSign8);
  EXPECT_EQ(dingtalk::RobotSignature(kTs8, kDocSecret), kDocSign8);
}

TEST(RobotSignature, VerifyAcceptsOnlyTheExactSign) {
  EXPECT_TRUE(dingtalk::VerifyRobotSignature(kTs0, kSecret, kSign0));
  EXPECT_FALSE(dingtalk::VerifyRobotSignature(kTs0 + 1, kSecret, kSign0));
  EXPECT_FALSE(dingtalk::VerifyRobotSignature(kTs0, "SECother", kSign0));
  EXPECT_FALSE(dingtalk::VerifyRobotSignature(kTs0, kSecret, kSign0Url));  // still URL-encoded
  EXPECT_FALSE(dingtalk::VerifyRobotSignature(kTs0, kSecret, ""));
  std::string flipped = kSign0;
  flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(dingtalk::VerifyRobotSignature(kTs0, kSecret, flipped));
}

using testing::FakeTransport;

class RobotClientTest : public ::testing::Test {
 protected:
  RobotClientTest()
      : clock_(absl::FromUnixMillis(kTs0)),
        client_({.url = "https://robot.test/robot/send", .access_token = "tok/en+1", .secret = kSecret}, transport_,
                clock_) {}

  // Queues an answer with any HTTP status (FakeTransport::Answer is 200 only).
  void Answer(long status, std::string body) {
    transport_.answers.push_back(dingtalk::HttpResponse{status, "application/json", std::move(body)});
  }

  FakeTransport transport_;
  common::testing::FakeClock clock_;
  RobotClient client_;
};

TEST_F(RobotClientTest, SignsTheUrlWithTheClocksMilliseconds) {
  EXPECT_EQ(client_.SignedUrl(kTs0),
            std::string("https://robot.test/robot/send?access_token=tok%2Fen%2B1&timestamp=1700000000000&sign=") +
                kSign0Url);
  EXPECT_EQ(client_.SignedUrl(kTs8),
            std::string("https://robot.test/robot/send?access_token=tok%2Fen%2B1&timestamp=1700000000008&sign=") +
                kSign8Url);

  clock_.Advance(absl::Milliseconds(8));
  SendResult r = client_.Send({.title = "[FIRING:1] X", .text = "### 告警 **x**"});
  EXPECT_EQ(r.outcome, SendOutcome::kSent);
  ASSERT_EQ(transport_.requests.size(), 1u);
  const dingtalk::HttpRequest& req = transport_.requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, client_.SignedUrl(kTs8));
  EXPECT_EQ(req.headers, std::vector<std::string>{"Content-Type: application/json;charset=utf-8"});
  EXPECT_EQ(json::parse(req.body),
            (json{{"msgtype", "markdown"}, {"markdown", {{"title", "[FIRING:1] X"}, {"text", "### 告警 **x**"}}}}));
}

TEST_F(RobotClientTest, SortsDingTalksAnswers) {
  struct Case {
    long status;
    std::string body;
    SendOutcome outcome;
    std::string error;
  };
  const std::vector<Case> cases = {
      {200, R"({"errcode":0,"errmsg":"ok"})", SendOutcome::kSent, ""},
      {200, R"({"errcode":310000,"errmsg":"sign not match"})", SendOutcome::kRejected, "310000"},
      {200, R"({"errcode":300001,"errmsg":"token is not exist"})", SendOutcome::kRejected, "300001"},
      {200, R"({"errcode":460101,"errmsg":"message too long"})", SendOutcome::kRejected, "460101"},
      {200, R"({"errcode":410100,"errmsg":"send too fast"})", SendOutcome::kTooFast, "410100"},
      {200, R"({"errcode":-1,"errmsg":"系统繁忙"})", SendOutcome::kRetryable, "-1"},
      {200, R"({"errcode":123456,"errmsg":"?"})", SendOutcome::kRejected, "other"},
      {200, R"({"errcode":0,"errmsg":7})", SendOutcome::kSent, ""},
      {200, "<html>punished</html>", SendOutcome::kRetryable, "bad_response"},
      {200, R"({"errcode":"0"})", SendOutcome::kRetryable, "bad_response"},
      {502, "<html>bad gateway</html>", SendOutcome::kRetryable, "http_502"},
      {404, "", SendOutcome::kRejected, "http_404"},
  };
  for (const Case& c : cases) {
    Answer(c.status, c.body);
    SendResult r = client_.Send({.title = "t", .text = "x"});
    EXPECT_EQ(r.outcome, c.outcome) << c.body;
    EXPECT_EQ(r.error, c.error) << c.body;
  }
}

TEST_F(RobotClientTest, ATransportFailureIsRetryableAndNamesNoSecret) {
  transport_.answers.push_back(dingtalk::MakeError(dingtalk::ApiError::kUnreachable, "transport error: timeout"));
  SendResult r = client_.Send({.title = "t", .text = "x"});
  EXPECT_EQ(r.outcome, SendOutcome::kRetryable);
  EXPECT_EQ(r.error, "unreachable");
  EXPECT_EQ(r.errmsg.find("tok"), std::string::npos);
  EXPECT_EQ(r.errmsg.find(kSecret), std::string::npos);
}

}  // namespace
}  // namespace sase::alert_relay

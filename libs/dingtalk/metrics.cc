#include "dingtalk/metrics.h"

#include <string>

namespace sase::dingtalk {
namespace {
const prometheus::Histogram::BucketBoundaries& Buckets() {
  static const auto* b =
      new prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *b;
}
}  // namespace

Metrics::Metrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("sase_dingtalk_requests_total")
                    .Help("DingTalk API HTTP attempts by API and outcome")
                    .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("sase_dingtalk_request_duration_seconds")
                    .Help("DingTalk API HTTP attempt latency")
                    .Register(registry)),
      throttled_(prometheus::BuildCounter()
                     .Name("sase_dingtalk_throttled_total")
                     .Help("DingTalk answers that were throttling errors")
                     .Register(registry)),
      token_refreshes_(prometheus::BuildCounter()
                           .Name("sase_dingtalk_token_refreshes_total")
                           .Help("DingTalk app access tokens fetched")
                           .Register(registry)
                           .Add({})) {}

void Metrics::RecordRequest(std::string_view api, std::string_view outcome, double seconds) {
  requests_.Add({{"api", std::string(api)}, {"outcome", std::string(outcome)}}).Increment();
  duration_.Add({{"api", std::string(api)}}, Buckets()).Observe(seconds);
}

void Metrics::RecordThrottle(std::string_view api) { throttled_.Add({{"api", std::string(api)}}).Increment(); }

void Metrics::RecordTokenRefresh() { token_refreshes_.Increment(); }

}  // namespace sase::dingtalk

#pragma once
// Prometheus metrics of the DingTalk client, registered on an injected registry. Several clients
// may share one registry (families are merged). Labels are bounded: `api` is a constant API name,
// `outcome` is "ok" or a ReasonName().
//
//   sase_dingtalk_requests_total{api,outcome}        every HTTP attempt
//   sase_dingtalk_request_duration_seconds{api}      histogram of HTTP attempts
//   sase_dingtalk_throttled_total{api}               answers that were throttling errors
//   sase_dingtalk_token_refreshes_total              app tokens fetched

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string_view>

namespace sase::dingtalk {

class Metrics {
 public:
  explicit Metrics(prometheus::Registry& registry);

  void RecordRequest(std::string_view api, std::string_view outcome, double seconds);
  void RecordThrottle(std::string_view api);
  void RecordTokenRefresh();

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& throttled_;
  prometheus::Counter& token_refreshes_;
};

}  // namespace sase::dingtalk

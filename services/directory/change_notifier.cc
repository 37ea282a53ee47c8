#include "directory/change_notifier.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include "common/log.h"
#include "store/change_log.h"

namespace sase::directory {
namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, std::atomic<uint64_t>* count)
      : pqxx::notification_receiver(c, store::kChangeChannel), count_(count) {}
  void operator()(const std::string& /*payload*/, int /*backend_pid*/) override { ++*count_; }

 private:
  std::atomic<uint64_t>* count_;
};

}  // namespace

ChangeNotifier::ChangeNotifier(Options options) : options_(std::move(options)) {
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    wake_pipe_[0] = wake_pipe_[1] = -1;
  }
  thread_ = std::thread([this] { Run(); });
}

ChangeNotifier::~ChangeNotifier() {
  Stop();
  if (wake_pipe_[0] >= 0) close(wake_pipe_[0]);
  if (wake_pipe_[1] >= 0) close(wake_pipe_[1]);
}

void ChangeNotifier::Stop() {
  if (!stopped_.exchange(true)) {
    if (wake_pipe_[1] >= 0) {
      char b = 1;
      [[maybe_unused]] ssize_t n = write(wake_pipe_[1], &b, 1);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++generation_;
    }
    cv_.notify_all();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

uint64_t ChangeNotifier::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

bool ChangeNotifier::WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return generation_ != seen || stopped_.load(); }) &&
         generation_ != seen;
}

void ChangeNotifier::Bump() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
  }
  cv_.notify_all();
}

void ChangeNotifier::Run() {
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Receiver> receiver;
  bool warned = false;
  const int poll_ms = static_cast<int>(options_.poll_interval.count());
  while (!stopped_.load()) {
    if (conn == nullptr) {
      try {
        conn = std::make_unique<pqxx::connection>(options_.dsn);
        receiver = std::make_unique<Receiver>(*conn, &notifications_);
        listening_ = true;
        if (warned) common::LogInfo("change listener reconnected");
        warned = false;
        Bump();  // anything committed while we were away is picked up by the subscribers' next read
      } catch (const std::exception& e) {
        receiver.reset();
        conn.reset();
        listening_ = false;
        if (!warned) common::LogWarn("change listener cannot connect; polling", {{"reason", e.what()}});
        warned = true;
      }
    }
    pollfd fds[2];
    int nfds = 0;
    if (wake_pipe_[0] >= 0) fds[nfds++] = {wake_pipe_[0], POLLIN, 0};
    if (conn != nullptr) fds[nfds++] = {conn->sock(), POLLIN, 0};
    int rc = poll(fds, static_cast<nfds_t>(nfds), poll_ms);
    if (stopped_.load()) break;
    if (rc > 0 && conn != nullptr) {
      try {
        conn->get_notifs();
      } catch (const std::exception& e) {
        common::LogWarn("change listener lost its connection", {{"reason", e.what()}});
        receiver.reset();
        conn.reset();
        listening_ = false;
        warned = true;
      }
    }
    // A notification, or the poll interval passed: either way subscribers re-read the log.
    Bump();
  }
  receiver.reset();
  conn.reset();
}

}  // namespace sase::directory

#include "common/server/periodic_task.h"

#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/server/access_log.h"

namespace shop {

PeriodicTask::PeriodicTask(absl::Duration interval, std::function<void()> task)
    : thread_([this, interval, task = std::move(task)] {
        absl::MutexLock lock(&mu_);
        while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval)) {
          mu_.Unlock();
          task();
          mu_.Lock();
        }
      }) {}

PeriodicTask::~PeriodicTask() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void LogJson(const char* level, absl::string_view message) {
  std::string line = absl::StrCat(
      "{\"time\":\"",
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                       absl::UTCTimeZone()),
      "\",\"level\":\"", level, "\",\"message\":", JsonQuote(message), "}\n");
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace shop

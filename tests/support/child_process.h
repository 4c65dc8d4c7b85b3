#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace shop::testing {

// A program run as a child process whose stdout and stderr lines are
// collected, so a test can wait for a line instead of sleeping.
class ChildProcess final {
 public:
  ChildProcess(const std::string& program, const std::vector<std::string>& args,
               const std::vector<std::string>& env = {});
  ~ChildProcess();

  // The first line containing `needle`, waiting up to `timeout`.
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         absl::Duration timeout);
  std::vector<std::string> Lines();
  // Writes `line` and a newline to the child's stdin.
  bool WriteLine(const std::string& line);
  void Signal(int signal);
  pid_t pid() const { return pid_; }
  // The exit code, or -1 when it did not exit in time (it is then killed).
  int WaitForExit(absl::Duration timeout);

 private:
  void ReadOutput(int fd);

  pid_t pid_ = -1;
  int input_ = -1;  // the child's stdin
  int exit_code_ = -1;
  std::thread reader_;
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace shop::testing

// Owns running a program as a child (posix_spawn: nothing runs between fork
// and exec) and collecting its output lines.
#include "tests/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace shop::testing {

namespace {

// The parent's environment with `overrides` (NAME=value) replacing or
// adding variables, built before the child exists.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const absl::string_view assignment(*entry);
    const absl::string_view name = assignment.substr(0, assignment.find('='));
    const bool overridden = std::any_of(
        overrides.begin(), overrides.end(), [&](const std::string& o) {
          return absl::StartsWith(o, absl::StrCat(name, "="));
        });
    if (!overridden) env.emplace_back(assignment);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

std::vector<char*> NullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

}  // namespace

ChildProcess::ChildProcess(const std::string& program,
                           const std::vector<std::string>& args,
                           const std::vector<std::string>& env) {
  int pipe_fds[2];
  int input_fds[2];
  // Close-on-exec: the child keeps only the ends dup2'd onto its stdio.
  if (pipe2(pipe_fds, O_CLOEXEC) != 0 || pipe2(input_fds, O_CLOEXEC) != 0) {
    std::abort();
  }
  input_ = input_fds[1];
  std::vector<std::string> argv_strings = {program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = ChildEnvironment(env);
  std::vector<char*> argv = NullTerminated(argv_strings);
  std::vector<char*> envp = NullTerminated(env_strings);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, input_fds[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The test runner may block signals; the child must see SIGTERM.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  const int error = posix_spawn(&pid_, program.c_str(), &actions, &attributes,
                                argv.data(), envp.data());
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  close(input_fds[0]);
  if (error != 0) {
    // As a failed exec would: exit code 127, and the reason as its output.
    pid_ = -1;
    exit_code_ = 127;
    absl::MutexLock lock(&mu_);
    lines_.push_back(
        absl::StrCat("posix_spawn ", program, ": ", std::strerror(error)));
  }
  reader_ = std::thread([this, fd = pipe_fds[0]] { ReadOutput(fd); });
}

ChildProcess::~ChildProcess() {
  if (exit_code_ == -1) WaitForExit(absl::ZeroDuration());
  reader_.join();
  close(input_);
}

bool ChildProcess::WriteLine(const std::string& line) {
  const std::string data = line + "\n";
  // A child that exited is no reason to die of SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  return write(input_, data.data(), data.size()) ==
         static_cast<ssize_t>(data.size());
}

void ChildProcess::ReadOutput(int fd) {
  std::string pending;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) {
    pending.append(buffer, static_cast<size_t>(n));
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      absl::MutexLock lock(&mu_);
      lines_.push_back(pending.substr(0, newline));
      pending.erase(0, newline + 1);
    }
  }
  close(fd);
  absl::MutexLock lock(&mu_);
  if (!pending.empty()) lines_.push_back(pending);
  closed_ = true;
}

std::optional<std::string> ChildProcess::WaitForLine(const std::string& needle,
                                                     absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  std::optional<std::string> found;
  auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const std::string& line : lines_) {
      if (absl::StrContains(line, needle)) {
        found = line;
        return true;
      }
    }
    return closed_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
  return found;
}

std::vector<std::string> ChildProcess::Lines() {
  absl::MutexLock lock(&mu_);
  return lines_;
}

void ChildProcess::Signal(int signal) {
  // Never kill(-1, ...): that would signal every process we may signal.
  if (pid_ > 0) kill(pid_, signal);
}

int ChildProcess::WaitForExit(absl::Duration timeout) {
  if (pid_ <= 0) return exit_code_;
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (true) {
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) break;
    if (absl::Now() >= deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      exit_code_ = -2;
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(10));  // polling a child: no fd to await
  }
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // Its last lines may still be in the pipe: Lines() must see them.
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&closed_), absl::Seconds(5));
  return exit_code_;
}

}  // namespace shop::testing

#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

// Prometheus metrics of our own (no Debian package ships a client): counters,
// gauges and histograms with labels, and their text exposition (format
// 0.0.4). Updates are lock-free; a series is found under a lock once, and
// callers keep the pointer.
namespace shop::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter final {
 public:
  void Increment(int64_t by = 1) {
    value_.fetch_add(by, std::memory_order_relaxed);
  }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_ = 0;
};

class Gauge final {
 public:
  void Set(int64_t value) { value_.store(value, std::memory_order_relaxed); }
  void Add(int64_t by) { value_.fetch_add(by, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_ = 0;
};

class Histogram final {
 public:
  // `bounds` ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  // Per bucket (not cumulative), +Inf last.
  std::vector<int64_t> counts() const;
  double sum() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<int64_t>[]> counts_;
  std::atomic<int64_t> sum_micros_ = 0;  // in millionths, to stay atomic
};

// Latency buckets in seconds, 0.5 ms to 10 s.
std::vector<double> LatencyBuckets();

class Registry final {
 public:
  // The series of `name` with `labels`, created on first use. A name has
  // one kind and one help text; a second kind for it is a programming error.
  Counter* GetCounter(absl::string_view name, absl::string_view help,
                      const Labels& labels = {});
  Gauge* GetGauge(absl::string_view name, absl::string_view help,
                  const Labels& labels = {});
  Histogram* GetHistogram(absl::string_view name, absl::string_view help,
                          const Labels& labels, std::vector<double> bounds);
  // Runs before every exposition, to set gauges read from elsewhere (a
  // pool's connections in use, say).
  void OnCollect(std::function<void()> collect);

  // Every series in the text exposition format.
  std::string Exposition() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Family {
    Kind kind;
    std::string help;
    // Keyed by the rendered label set, so the output order is stable.
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyOf(absl::string_view name, absl::string_view help, Kind kind)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> collectors_ ABSL_GUARDED_BY(mu_);
};

// The process's registry, which /metrics serves.
Registry& Default();

// `labels` as Prometheus writes them: {a="x",b="y"}, values escaped; "" for
// none.
std::string RenderLabels(const Labels& labels);

}  // namespace shop::metrics

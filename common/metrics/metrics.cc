#include "common/metrics/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace shop::metrics {
namespace {

std::string Escape(absl::string_view value, bool quote_too) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote_too) {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return absl::StrCat(value);
}

// `base` with one more label, for a histogram's buckets.
std::string WithLe(const std::string& rendered, const std::string& le) {
  std::string inner =
      rendered.empty() ? "" : rendered.substr(1, rendered.size() - 2) + ",";
  return absl::StrCat("{", inner, "le=\"", le, "\"}");
}

}  // namespace

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    absl::StrAppend(&out, labels[i].first, "=\"",
                    Escape(labels[i].second, true), "\"");
  }
  return out + "}";
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(new std::atomic<int64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i] = 0;
}

void Histogram::Observe(double value) {
  const size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(std::llround(value * 1e6), std::memory_order_relaxed);
}

std::vector<int64_t> Histogram::counts() const {
  std::vector<int64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = counts_[i].load(std::memory_order_relaxed);
  }
  return out;
}

double Histogram::sum() const {
  return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}

Registry::Family& Registry::FamilyOf(absl::string_view name,
                                     absl::string_view help, Kind kind) {
  auto [it, inserted] = families_.try_emplace(std::string(name));
  if (inserted) {
    it->second.kind = kind;
    it->second.help = std::string(help);
  } else if (it->second.kind != kind) {
    std::abort();  // one name, two kinds: a bug in the caller
  }
  return it->second;
}

Counter* Registry::GetCounter(absl::string_view name, absl::string_view help,
                              const Labels& labels) {
  absl::MutexLock lock(&mu_);
  auto& series =
      FamilyOf(name, help, Kind::kCounter).counters[RenderLabels(labels)];
  if (series == nullptr) series = std::make_unique<Counter>();
  return series.get();
}

Gauge* Registry::GetGauge(absl::string_view name, absl::string_view help,
                          const Labels& labels) {
  absl::MutexLock lock(&mu_);
  auto& series =
      FamilyOf(name, help, Kind::kGauge).gauges[RenderLabels(labels)];
  if (series == nullptr) series = std::make_unique<Gauge>();
  return series.get();
}

Histogram* Registry::GetHistogram(absl::string_view name,
                                  absl::string_view help, const Labels& labels,
                                  std::vector<double> bounds) {
  absl::MutexLock lock(&mu_);
  auto& series =
      FamilyOf(name, help, Kind::kHistogram).histograms[RenderLabels(labels)];
  if (series == nullptr)
    series = std::make_unique<Histogram>(std::move(bounds));
  return series.get();
}

void Registry::OnCollect(std::function<void()> collect) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::Exposition() const {
  std::vector<std::function<void()>> collectors;
  {
    absl::MutexLock lock(&mu_);
    collectors = collectors_;
  }
  for (const auto& collect : collectors) collect();
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    const char* kind = family.kind == Kind::kCounter ? "counter"
                       : family.kind == Kind::kGauge ? "gauge"
                                                     : "histogram";
    absl::StrAppend(&out, "# HELP ", name, " ", Escape(family.help, false),
                    "\n# TYPE ", name, " ", kind, "\n");
    for (const auto& [labels, counter] : family.counters) {
      absl::StrAppend(&out, name, labels, " ", counter->value(), "\n");
    }
    for (const auto& [labels, gauge] : family.gauges) {
      absl::StrAppend(&out, name, labels, " ", gauge->value(), "\n");
    }
    for (const auto& [labels, histogram] : family.histograms) {
      const std::vector<int64_t> counts = histogram->counts();
      int64_t cumulative = 0;
      for (size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        const std::string le = i < histogram->bounds().size()
                                   ? Number(histogram->bounds()[i])
                                   : "+Inf";
        absl::StrAppend(&out, name, "_bucket", WithLe(labels, le), " ",
                        cumulative, "\n");
      }
      absl::StrAppend(&out, name, "_sum", labels, " ", Number(histogram->sum()),
                      "\n", name, "_count", labels, " ", cumulative, "\n");
    }
  }
  return out;
}

Registry& Default() {
  static Registry* registry = new Registry();
  return *registry;
}

}  // namespace shop::metrics

#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "inventory/v1/inventory.pb.h"

namespace shop::testing {

// Every figure of one warehouse, as DESIGN.md defines them.
struct Figures {
  int64_t on_hand = 0;
  int64_t reserved = 0;
  int64_t committed = 0;
  int64_t available = 0;
  int64_t incoming = 0;
  int64_t damaged = 0;
  int64_t shortfall = 0;
  bool operator==(const Figures&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Figures& f);

// An auditor's fold of a product's history, written from DESIGN.md's table
// of movements and the event payloads alone (not the service's own fold),
// that also notes every broken promise it sees on the way.
class StockFold {
 public:
  // Folds one event read back from ListProductEvents, in version order.
  absl::Status Apply(const inventory::v1::RecordedEvent& recorded);

  std::map<std::string, Figures> Warehouses() const;
  Figures Totals() const;
  // Figures that went negative, units sold or returned twice, and the like.
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  struct Place {
    int64_t on_hand = 0;
    int64_t damaged = 0;
    int64_t incoming = 0;
  };
  struct Order {
    std::map<std::string, int64_t> committed;  // unshipped, by warehouse
    int64_t committed_total = 0;
    int64_t shipped = 0;
    int64_t returned = 0;
  };
  using Lines = std::map<std::string, int64_t>;

  void Check(const std::string& what, int64_t version);

  std::map<std::string, Place> places_;
  std::map<std::string, Lines> reservations_;
  std::map<std::string, Order> orders_;
  std::map<std::string, inventory::v1::TransferDispatched> transfers_;
  std::map<std::string, int> commits_of_reservation_;
  std::vector<std::string> violations_;
};

}  // namespace shop::testing

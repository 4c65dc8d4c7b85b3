#include "tests/bench/grpc_scenarios.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cart/v1/cart.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "inventory/v1/inventory.grpc.pb.h"

namespace shop::bench {
namespace {

using CartStub = cart::v1::CartService::Stub;
using HealthStub = grpc::health::v1::Health::Stub;
using InventoryStub = inventory::v1::InventoryService::Stub;

// Generous: a call that takes this long is a failed run, not a slow one.
constexpr absl::Duration kCallDeadline = absl::Seconds(10);
// The API's largest quantity: no run reserves that many units.
constexpr int64_t kPlentyOfStock = 1'000'000;
constexpr int64_t kPriceCents = 1999;
// Threads that create products and carts, and read them back at the end.
constexpr int kHelperThreads = 8;
// Broken-invariant details quoted in the error, at most.
constexpr size_t kMaxProblemsQuoted = 5;

// Prefix of every id a run creates, so runs never collide on one server.
std::string FreshRunId() {
  absl::BitGen gen;
  return absl::StrFormat("bench%08x", absl::Uniform<uint32_t>(gen));
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
}

absl::Status FromGrpc(const grpc::Status& status, absl::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

OpResult FromCall(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return OpResult{};
  return OpResult{.outcome = Outcome::kError, .error = FromGrpc(status, what)};
}

// `count` channels to `address`, each with its own TCP connection: by
// default gRPC lets channels with the same target share one.
absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> OpenChannels(
    const std::string& address, int count, const char* flag) {
  if (address.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("this scenario needs --", flag));
  }
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(count, 1); ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channels.push_back(grpc::CreateCustomChannel(
        address, grpc::InsecureChannelCredentials(), args));
    if (!channels.back()->WaitForConnected(
            absl::ToChronoTime(absl::Now() + absl::Seconds(5)))) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", address, " (--", flag, ")"));
    }
  }
  return channels;
}

template <typename Service>
std::vector<std::unique_ptr<typename Service::Stub>> StubsFor(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels) {
  std::vector<std::unique_ptr<typename Service::Stub>> stubs;
  stubs.reserve(channels.size());
  for (const auto& channel : channels) {
    stubs.push_back(Service::NewStub(channel));
  }
  return stubs;
}

// A scenario whose operation is one or more gRPC calls, made through the
// callback API (Start) or the blocking one (Run, the runner's thread mode).
class CallScenario : public Scenario {
 public:
  bool CanStart() const override { return true; }

  void Start(int worker, Done done) override {
    Call(worker, std::move(done), /*blocking=*/false);
  }

  OpResult Run(int worker) override {
    OpResult result;
    Call(
        worker, [&](OpResult answer) { result = std::move(answer); },
        /*blocking=*/true);
    return result;
  }

 protected:
  // One operation by `worker`. With `blocking`, its calls use the stubs'
  // blocking methods on this thread, and `done` has run on return.
  virtual void Call(int worker, Done done, bool blocking) = 0;
};

// Calls an RPC with `request`: `call_blocking(context, request, response)`
// is a stub's blocking method, `call_async(context, request, response,
// callback)` its async() one. On the answer, `finish(status, response)`
// makes the operation's result and `done` receives it.
template <typename Response, typename Request, typename Blocking,
          typename Async>
void CallRpc(
    bool blocking, Request request, Blocking call_blocking, Async call_async,
    absl::AnyInvocable<OpResult(const grpc::Status&, const Response&) &&>
        finish,
    Scenario::Done done) {
  if (blocking) {
    grpc::ClientContext context;
    SetDeadline(context);
    Response response;
    const grpc::Status status = call_blocking(&context, request, &response);
    std::move(done)(std::move(finish)(status, response));
    return;
  }
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
    absl::AnyInvocable<OpResult(const grpc::Status&, const Response&) &&>
        finish;
    Scenario::Done done;
  };
  auto* call = new Call;
  call->request = std::move(request);
  call->finish = std::move(finish);
  call->done = std::move(done);
  SetDeadline(call->context);
  call_async(&call->context, &call->request, &call->response,
             [call](grpc::Status status) {
               OpResult result =
                   std::move(call->finish)(status, call->response);
               Scenario::Done done = std::move(call->done);
               delete call;
               std::move(done)(std::move(result));
             });
}

// Runs fn(0 .. n-1) on a few threads; returns the first error.
absl::Status ParallelFor(int n, absl::FunctionRef<absl::Status(int)> fn) {
  std::atomic<int> next = 0;
  absl::Mutex mu;
  absl::Status first;
  std::vector<std::thread> threads;
  threads.reserve(kHelperThreads);
  for (int t = 0; t < std::min(n, kHelperThreads); ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        absl::Status status = fn(i);
        if (status.ok()) continue;
        absl::MutexLock lock(&mu);
        if (first.ok()) first = std::move(status);
        next = n;  // stop the others early
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return first;
}

// Collects what a Check found wrong; quotes the first few.
class Problems final {
 public:
  void Add(std::string problem) {
    absl::MutexLock lock(&mu_);
    ++count_;
    if (quoted_.size() < kMaxProblemsQuoted) {
      quoted_.push_back(std::move(problem));
    }
  }
  absl::Status ToStatus() {
    absl::MutexLock lock(&mu_);
    if (count_ == 0) return absl::OkStatus();
    return absl::InternalError(absl::StrCat(
        count_, " problems: ", absl::StrJoin(quoted_, "; "),
        count_ > static_cast<int64_t>(quoted_.size()) ? "; ..." : ""));
  }

 private:
  absl::Mutex mu_;
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> quoted_ ABSL_GUARDED_BY(mu_);
};

class HealthScenario final : public CallScenario {
 public:
  explicit HealthScenario(const LoadOptions& options)
      : options_(options), serving_(options.concurrency) {}

  absl::Status Setup() override {
    auto channels = OpenChannels(options_.inventory_address,
                                 options_.grpc_channels, "inventory_address");
    if (!channels.ok()) return channels.status();
    stubs_ = StubsFor<grpc::health::v1::Health>(*channels);
    return absl::OkStatus();
  }

  void Call(int worker, Done done, bool blocking) override {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(kService);
    HealthStub* stub = stubs_[worker % stubs_.size()].get();
    CallRpc<grpc::health::v1::HealthCheckResponse>(
        blocking, std::move(request),
        [stub](auto* context, const auto& request, auto* response) {
          return stub->Check(context, request, response);
        },
        [stub](auto* context, auto* request, auto* response, auto callback) {
          stub->async()->Check(context, request, response, std::move(callback));
        },
        [this, worker](const grpc::Status& status,
                       const grpc::health::v1::HealthCheckResponse& response) {
          OpResult result = FromCall(status, "Health/Check");
          if (result.outcome != Outcome::kOk) return result;
          if (response.status() !=
              grpc::health::v1::HealthCheckResponse::SERVING) {
            return OpResult{.outcome = Outcome::kError,
                            .error = absl::UnavailableError(
                                absl::StrCat(kService, " is not SERVING"))};
          }
          ++serving_[worker].count;
          return result;
        },
        std::move(done));
  }

  // Every successful call saw SERVING: there is no state to check.
  absl::Status Check(const Tally& total) override {
    int64_t serving = 0;
    for (const Counter& counter : serving_) serving += counter.count;
    if (serving != total.ok || total.ok == 0) {
      return absl::InternalError(absl::StrCat(serving, " SERVING answers for ",
                                              total.ok, " successful calls"));
    }
    return absl::OkStatus();
  }

  absl::Status Teardown() override { return absl::OkStatus(); }

 private:
  static constexpr char kService[] = "inventory.v1.InventoryService";
  struct alignas(64) Counter {
    int64_t count = 0;
  };

  const LoadOptions options_;
  std::vector<std::unique_ptr<HealthStub>> stubs_;
  std::vector<Counter> serving_;
};

// Products in the inventory server, created in Setup with plenty of stock;
// each worker counts the units it got reserved per product, and Check
// compares the counts with GetStock.
class Products {
 public:
  Products(std::string run_id, int count, int workers)
      : run_id_(std::move(run_id)), count_(count), workers_(workers) {
    for (Worker& worker : workers_) worker.reserved.assign(count, 0);
  }

  int count() const { return count_; }
  std::string Id(int index) const { return absl::StrCat(run_id_, "-p", index); }

  absl::Status Connect(const LoadOptions& options) {
    auto channels = OpenChannels(options.inventory_address,
                                 options.grpc_channels, "inventory_address");
    if (!channels.ok()) return channels.status();
    stubs_ = StubsFor<inventory::v1::InventoryService>(*channels);
    return absl::OkStatus();
  }

  InventoryStub& StubFor(int worker) { return *stubs_[worker % stubs_.size()]; }

  absl::Status Create() {
    return ParallelFor(count_, [&](int i) {
      inventory::v1::AddProductRequest request;
      request.set_product_id(Id(i));
      request.set_name(absl::StrCat("bench product ", i));
      request.set_price_cents(kPriceCents);
      request.set_initial_quantity(kPlentyOfStock);
      inventory::v1::AddProductResponse response;
      grpc::ClientContext context;
      SetDeadline(context);
      grpc::Status status = StubFor(i).AddProduct(&context, request, &response);
      return status.ok() ? absl::OkStatus() : FromGrpc(status, "AddProduct");
    });
  }

  // A product for the worker's next operation.
  int Pick(int worker) {
    if (count_ == 1) return 0;
    return absl::Uniform<int>(workers_[worker].gen, 0, count_);
  }

  void Reserved(int worker, int product) {
    ++workers_[worker].reserved[product];
  }

  // Each product: reserved == units the workers got; on hand untouched;
  // available = on hand - reserved; nothing negative. The sum of reserved
  // must equal `successes`.
  absl::Status Check(int64_t successes) {
    Problems problems;
    std::atomic<int64_t> reserved_total = 0;
    absl::Status status = ParallelFor(count_, [&](int i) {
      inventory::v1::GetStockRequest request;
      request.set_product_id(Id(i));
      inventory::v1::GetStockResponse stock;
      grpc::ClientContext context;
      SetDeadline(context);
      grpc::Status got = StubFor(i).GetStock(&context, request, &stock);
      if (!got.ok()) return FromGrpc(got, "GetStock");
      int64_t expected = 0;
      for (const Worker& worker : workers_) expected += worker.reserved[i];
      reserved_total += stock.reserved();
      if (stock.reserved() != expected) {
        problems.Add(absl::StrCat(Id(i), " reserved ", stock.reserved(),
                                  ", callers got ", expected));
      }
      if (stock.on_hand() != kPlentyOfStock) {
        problems.Add(absl::StrCat(Id(i), " on hand ", stock.on_hand(),
                                  ", expected ", kPlentyOfStock));
      }
      if (stock.on_hand() != stock.available() + stock.reserved()) {
        problems.Add(absl::StrCat(Id(i), " on hand ", stock.on_hand(),
                                  " != available ", stock.available(),
                                  " + reserved ", stock.reserved()));
      }
      if (stock.on_hand() < 0 || stock.available() < 0 ||
          stock.reserved() < 0) {
        problems.Add(absl::StrCat(Id(i), " has a negative figure"));
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    if (reserved_total != successes) {
      problems.Add(absl::StrCat("inventory holds ", reserved_total.load(),
                                " reserved units, ", successes,
                                " calls succeeded"));
    }
    return problems.ToStatus();
  }

 private:
  struct alignas(64) Worker {
    absl::BitGen gen;
    std::vector<int64_t> reserved;
  };

  const std::string run_id_;
  const int count_;
  std::vector<Worker> workers_;
  std::vector<std::unique_ptr<InventoryStub>> stubs_;
};

class ReserveScenario final : public CallScenario {
 public:
  ReserveScenario(const LoadOptions& options, int products)
      : options_(options),
        run_id_(FreshRunId()),
        products_(run_id_, products, options.concurrency),
        next_(options.concurrency) {}

  absl::Status Setup() override {
    if (absl::Status status = products_.Connect(options_); !status.ok()) {
      return status;
    }
    return products_.Create();
  }

  void Call(int worker, Done done, bool blocking) override {
    const int product = products_.Pick(worker);
    inventory::v1::ReserveStockRequest request;
    request.set_product_id(products_.Id(product));
    request.set_quantity(1);
    request.set_reservation_id(
        absl::StrCat(run_id_, "-w", worker, "-", next_[worker].n++));
    InventoryStub* stub = &products_.StubFor(worker);
    CallRpc<inventory::v1::ReserveStockResponse>(
        blocking, std::move(request),
        [stub](auto* context, const auto& request, auto* response) {
          return stub->ReserveStock(context, request, response);
        },
        [stub](auto* context, auto* request, auto* response, auto callback) {
          stub->async()->ReserveStock(context, request, response,
                                      std::move(callback));
        },
        [this, worker, product](const grpc::Status& status,
                                const inventory::v1::ReserveStockResponse&) {
          OpResult result = FromCall(status, "ReserveStock");
          if (result.outcome == Outcome::kOk) {
            products_.Reserved(worker, product);
          }
          return result;
        },
        std::move(done));
  }

  absl::Status Check(const Tally& total) override {
    return products_.Check(total.ok);
  }

  absl::Status Teardown() override { return absl::OkStatus(); }

 private:
  struct alignas(64) Sequence {
    int64_t n = 0;
  };

  const LoadOptions options_;
  const std::string run_id_;
  Products products_;
  std::vector<Sequence> next_;
};

class AddItemScenario final : public CallScenario {
 public:
  AddItemScenario(const LoadOptions& options, int products)
      : options_(options),
        run_id_(FreshRunId()),
        products_(run_id_, products, options.concurrency),
        workers_(options.concurrency) {}

  absl::Status Setup() override {
    if (options_.lines_per_cart < 1) {
      return absl::InvalidArgumentError("--lines_per_cart must be >= 1");
    }
    if (absl::Status status = products_.Connect(options_); !status.ok()) {
      return status;
    }
    auto channels = OpenChannels(options_.cart_address, options_.grpc_channels,
                                 "cart_address");
    if (!channels.ok()) return channels.status();
    stubs_ = StubsFor<cart::v1::CartService>(*channels);
    if (absl::Status status = products_.Create(); !status.ok()) return status;

    const int per_worker = std::max(
        1, (options_.carts + options_.concurrency - 1) / options_.concurrency);
    for (int w = 0; w < options_.concurrency; ++w) {
      for (int k = 0; k < per_worker; ++k) {
        workers_[w].carts.push_back({CartId(w, k), 0});
      }
    }
    return ParallelFor(options_.concurrency * per_worker, [&](int i) {
      return CreateCart(i % options_.concurrency,
                        workers_[i % options_.concurrency]
                            .carts[i / options_.concurrency]
                            .id);
    });
  }

  void Call(int worker, Done done, bool blocking) override {
    Worker& self = workers_[worker];
    if (self.carts[self.current].added < options_.lines_per_cart) {
      CallAddItem(worker, std::move(done), blocking);
      return;
    }
    // This cart is full: on to the worker's next one, made in Setup unless
    // the run outlasted them (then this op pays for one more).
    if (++self.current < self.carts.size()) {
      CallAddItem(worker, std::move(done), blocking);
      return;
    }
    self.carts.push_back({CartId(worker, self.current), 0});
    ++self.created_in_run;
    CartStub* stub = StubFor(worker);
    CallRpc<cart::v1::CreateCartResponse>(
        blocking, CreateCartRequest(worker, self.carts.back().id),
        [stub](auto* context, const auto& request, auto* response) {
          return stub->CreateCart(context, request, response);
        },
        [stub](auto* context, auto* request, auto* response, auto callback) {
          stub->async()->CreateCart(context, request, response,
                                    std::move(callback));
        },
        [](const grpc::Status& status, const cart::v1::CreateCartResponse&) {
          return FromCall(status, "CreateCart");
        },
        [this, worker, blocking,
         done = std::move(done)](OpResult created) mutable {
          if (created.outcome != Outcome::kOk) {
            std::move(done)(std::move(created));
            return;
          }
          CallAddItem(worker, std::move(done), blocking);
        });
  }

  // Each cart holds exactly the units its worker added; inventory holds
  // exactly those units reserved, product by product.
  absl::Status Check(const Tally& total) override {
    int64_t created_in_run = 0;
    std::vector<const CartUse*> carts;
    for (const Worker& worker : workers_) {
      created_in_run += worker.created_in_run;
      for (const CartUse& use : worker.carts) carts.push_back(&use);
    }
    if (created_in_run > 0) {
      std::fprintf(stderr,
                   "shop_load: %lld carts made during the run (raise "
                   "--carts)\n",
                   static_cast<long long>(created_in_run));
    }
    Problems problems;
    std::atomic<int64_t> in_carts = 0;
    absl::Status status =
        ParallelFor(static_cast<int>(carts.size()), [&](int i) {
          cart::v1::GetCartRequest request;
          request.set_cart_id(carts[i]->id);
          cart::v1::GetCartResponse response;
          grpc::ClientContext context;
          SetDeadline(context);
          grpc::Status got =
              stubs_[i % stubs_.size()]->GetCart(&context, request, &response);
          if (!got.ok()) return FromGrpc(got, "GetCart");
          int64_t units = 0;
          for (const cart::v1::CartItem& item : response.items()) {
            units += item.quantity();
          }
          in_carts += units;
          if (units != carts[i]->added) {
            problems.Add(absl::StrCat("cart ", carts[i]->id, " holds ", units,
                                      " units, ", carts[i]->added,
                                      " AddItem calls succeeded"));
          }
          return absl::OkStatus();
        });
    if (!status.ok()) return status;
    if (in_carts != total.ok) {
      problems.Add(absl::StrCat("carts hold ", in_carts.load(), " units, ",
                                total.ok, " AddItem calls succeeded"));
    }
    if (absl::Status stock = products_.Check(total.ok); !stock.ok()) {
      problems.Add(absl::StrCat("inventory: ", stock.message()));
    }
    return problems.ToStatus();
  }

  absl::Status Teardown() override { return absl::OkStatus(); }

 private:
  struct CartUse {
    std::string id;
    int64_t added = 0;  // successful AddItem calls
  };
  struct alignas(64) Worker {
    std::vector<CartUse> carts;
    size_t current = 0;
    int64_t created_in_run = 0;
  };

  std::string CartId(int worker, size_t k) const {
    return absl::StrCat(run_id_, "-c", worker, "-", k);
  }

  CartStub* StubFor(int worker) { return stubs_[worker % stubs_.size()].get(); }

  cart::v1::CreateCartRequest CreateCartRequest(
      int worker, const std::string& cart_id) const {
    cart::v1::CreateCartRequest request;
    request.set_cart_id(cart_id);
    request.set_customer_id(absl::StrCat(run_id_, "-customer-", worker));
    return request;
  }

  absl::Status CreateCart(int worker, const std::string& cart_id) {
    cart::v1::CreateCartResponse response;
    grpc::ClientContext context;
    SetDeadline(context);
    grpc::Status status = StubFor(worker)->CreateCart(
        &context, CreateCartRequest(worker, cart_id), &response);
    return status.ok() ? absl::OkStatus() : FromGrpc(status, "CreateCart");
  }

  // AddItem of one unit of a random product to the worker's current cart.
  void CallAddItem(int worker, Done done, bool blocking) {
    CartUse* use = &workers_[worker].carts[workers_[worker].current];
    const int product = products_.Pick(worker);
    cart::v1::AddItemRequest request;
    request.set_cart_id(use->id);
    request.set_product_id(products_.Id(product));
    request.set_quantity(1);
    CartStub* stub = StubFor(worker);
    CallRpc<cart::v1::AddItemResponse>(
        blocking, std::move(request),
        [stub](auto* context, const auto& request, auto* response) {
          return stub->AddItem(context, request, response);
        },
        [stub](auto* context, auto* request, auto* response, auto callback) {
          stub->async()->AddItem(context, request, response,
                                 std::move(callback));
        },
        [this, worker, product, use](const grpc::Status& status,
                                     const cart::v1::AddItemResponse&) {
          OpResult result = FromCall(status, "AddItem");
          if (result.outcome == Outcome::kOk) {
            ++use->added;
            products_.Reserved(worker, product);
          }
          return result;
        },
        std::move(done));
  }

  const LoadOptions options_;
  const std::string run_id_;
  Products products_;
  std::vector<Worker> workers_;
  std::vector<std::unique_ptr<CartStub>> stubs_;
};

}  // namespace

std::unique_ptr<Scenario> MakeHealth(const LoadOptions& options) {
  return std::make_unique<HealthScenario>(options);
}

std::unique_ptr<Scenario> MakeReserveMany(const LoadOptions& options) {
  return std::make_unique<ReserveScenario>(options, options.products);
}

std::unique_ptr<Scenario> MakeReserveHot(const LoadOptions& options) {
  return std::make_unique<ReserveScenario>(options, 1);
}

std::unique_ptr<Scenario> MakeAddItemMany(const LoadOptions& options) {
  return std::make_unique<AddItemScenario>(options, options.products);
}

std::unique_ptr<Scenario> MakeAddItemHot(const LoadOptions& options) {
  return std::make_unique<AddItemScenario>(options, 1);
}

}  // namespace shop::bench

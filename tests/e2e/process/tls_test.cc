// Both servers as real processes over TLS: inventory requires client
// certificates from its CA, the cart reaches it with its own, and the
// audit trail records who the certificate names, not what a caller claims.
#include "common/rpc/tls.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cart/v1/cart.grpc.pb.h"
#include "common/errors/errors.h"
#include "common/rpc/status_mapping.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "pqxx/pqxx"
#include "tests/support/child_process.h"
#include "tests/support/http_get.h"
#include "tests/support/server_process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_database.h"

namespace {

using ::shop::TlsFiles;
using ::shop::testing::ChildProcess;
using ::shop::testing::HttpGet;
using ::shop::testing::MigrateAsOwner;
using ::shop::testing::PortOf;
using ::shop::testing::TestCa;
using ::shop::testing::TestDsn;
using ::shop::testing::TestRoles;
using ::shop::testing::TestSchema;
using ::testing::HasSubstr;

// Inventory with mutual TLS, the cart as the one peer that may speak for
// end users, and a cart server with a certificate of its own (TLS only).
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inventory_files_ = ca_.Issue("inventory");
    cart_files_ = ca_.Issue("cart");
    MigrateAsOwner(INVENTORY_SERVER, inventory_roles_);
    MigrateAsOwner(CART_SERVER, cart_roles_);
    inventory_ = std::make_unique<ChildProcess>(
        INVENTORY_SERVER, std::vector<std::string>{
                              "--listen=127.0.0.1:0",
                              "--database_url=" + inventory_roles_.ServingDsn(),
                              "--schema=" + inventory_schema_.name(),
                              "--metrics_listen=127.0.0.1:0",
                              "--tls_cert_file=" + inventory_files_.cert_file,
                              "--tls_key_file=" + inventory_files_.key_file,
                              "--tls_client_ca_file=" + ca_.ca_file(),
                              "--delegating_peers=cart"});
    inventory_port_ = PortOf(*inventory_);
    cart_ = std::make_unique<ChildProcess>(
        CART_SERVER,
        std::vector<std::string>{
            "--listen=127.0.0.1:0",
            "--database_url=" + cart_roles_.ServingDsn(),
            "--schema=" + cart_schema_.name(), "--metrics_listen=127.0.0.1:0",
            "--tls_cert_file=" + cart_files_.cert_file,
            "--tls_key_file=" + cart_files_.key_file,
            absl::StrCat("--inventory_address=127.0.0.1:", inventory_port_),
            "--inventory_tls_ca_file=" + ca_.ca_file(),
            "--inventory_tls_cert_file=" + cart_files_.cert_file,
            "--inventory_tls_key_file=" + cart_files_.key_file});
    cart_port_ = PortOf(*cart_);
  }

  std::unique_ptr<inventory::v1::InventoryService::Stub> Inventory(
      const TlsFiles& client) {
    return inventory::v1::InventoryService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", inventory_port_),
                            shop::ChannelCredentialsFor(client)));
  }

  grpc::Status AddProduct(inventory::v1::InventoryService::Stub& stub,
                          const std::string& id) {
    inventory::v1::AddProductRequest request;
    request.set_product_id(id);
    request.set_name(id);
    request.set_initial_quantity(5);
    inventory::v1::AddProductResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return stub.AddProduct(&context, request, &response);
  }

  grpc::Status Reserve(inventory::v1::InventoryService::Stub& stub,
                       const std::string& product, const std::string& claim) {
    inventory::v1::ReserveStockRequest request;
    request.set_product_id(product);
    request.set_reservation_id("r-" + claim);
    request.set_quantity(1);
    inventory::v1::ReserveStockResponse response;
    grpc::ClientContext context;
    if (!claim.empty()) context.AddMetadata("x-caused-by", claim);
    return stub.ReserveStock(&context, request, &response);
  }

  // causedBy and onBehalfOf of each event of `type` on `product`'s stream.
  std::vector<std::string> WhoOf(const std::string& product,
                                 const std::string& type) {
    pqxx::connection connection(TestDsn());
    pqxx::nontransaction tx(connection);
    std::vector<std::string> who;
    for (const auto& row : tx.exec_params(
             absl::StrCat("SELECT coalesce(metadata->>'causedBy', ''), "
                          "coalesce(metadata->>'onBehalfOf', '') FROM ",
                          inventory_schema_.name(),
                          ".events WHERE stream_id = $1 AND type = $2 "
                          "ORDER BY version"),
             "product-" + product, type)) {
      who.push_back(absl::StrCat(row[0].as<std::string>(), " for ",
                                 row[1].as<std::string>()));
    }
    return who;
  }

  TestCa ca_{"shop-test-ca"};
  TlsFiles inventory_files_;
  TlsFiles cart_files_;
  TestSchema inventory_schema_{"tls_inv"};
  TestRoles inventory_roles_{inventory_schema_};
  TestSchema cart_schema_{"tls_cart"};
  TestRoles cart_roles_{cart_schema_};
  std::unique_ptr<ChildProcess> inventory_;
  int inventory_port_ = 0;
  std::unique_ptr<ChildProcess> cart_;
  int cart_port_ = 0;
};

// Without a client certificate, with one from another CA, or in plaintext,
// the handshake fails: the call is UNAVAILABLE and reaches no handler.
TEST_F(TlsTest, InventoryRefusesClientsWithoutACertificateOfItsCa) {
  auto no_certificate = Inventory({.ca_file = ca_.ca_file()});
  EXPECT_EQ(AddProduct(*no_certificate, "p1").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  auto plaintext = Inventory({});
  EXPECT_EQ(AddProduct(*plaintext, "p2").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  TestCa other("other-ca");
  TlsFiles stranger = other.Issue("cart");
  stranger.ca_file = ca_.ca_file();
  EXPECT_EQ(AddProduct(*Inventory(stranger), "p3").error_code(),
            grpc::StatusCode::UNAVAILABLE);

  auto ops = Inventory(ca_.Issue("ops"));
  ASSERT_TRUE(AddProduct(*ops, "p4").ok());
  EXPECT_THAT(WhoOf("p1", "product.added"), ::testing::IsEmpty());
  EXPECT_THAT(WhoOf("p3", "product.added"), ::testing::IsEmpty());
  EXPECT_THAT(WhoOf("p4", "product.added"), ::testing::ElementsAre("ops for "));
}

// The cart, with its certificate, reserves through inventory: inventory
// records the cart as the cause, and the end user the cart's caller named
// as the one it acted for.
TEST_F(TlsTest, TheCartWithItsCertificateReachesInventory) {
  ASSERT_TRUE(AddProduct(*Inventory(ca_.Issue("ops")), "shoe").ok());
  // The cart serves TLS without asking for client certificates.
  auto cart = cart::v1::CartService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", cart_port_),
      shop::ChannelCredentialsFor({.ca_file = ca_.ca_file()})));
  cart::v1::CreateCartRequest create;
  create.set_cart_id("c1");
  create.set_customer_id("alice");
  cart::v1::CreateCartResponse created;
  grpc::ClientContext create_context;
  ASSERT_TRUE(cart->CreateCart(&create_context, create, &created).ok());
  cart::v1::AddItemRequest add;
  add.set_cart_id("c1");
  add.set_product_id("shoe");
  add.set_quantity(2);
  cart::v1::AddItemResponse added;
  grpc::ClientContext add_context;
  add_context.AddMetadata("x-caused-by", "user:alice");
  grpc::Status status = cart->AddItem(&add_context, add, &added);
  ASSERT_TRUE(status.ok()) << status.error_message();

  EXPECT_THAT(WhoOf("shoe", "stock.reserved"),
              ::testing::ElementsAre("cart for user:alice"));
}

// A peer not listed in --delegating_peers that claims an end user is
// refused before anything is written; without the claim it is recorded as
// itself, and for no one.
TEST_F(TlsTest, AnUnlistedPeersClaimIsRecordedAsNoOnes) {
  auto ops = Inventory(ca_.Issue("ops"));
  ASSERT_TRUE(AddProduct(*ops, "hat").ok());
  grpc::Status claimed = Reserve(*ops, "hat", "user:mallory");
  EXPECT_EQ(claimed.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(claimed.error_message(), HasSubstr("x-caused-by"));
  EXPECT_EQ(shop::ReasonOf(shop::FromGrpcStatus(claimed)),
            "DELEGATION_NOT_ALLOWED");
  EXPECT_THAT(WhoOf("hat", "stock.reserved"), ::testing::IsEmpty());

  ASSERT_TRUE(Reserve(*ops, "hat", "").ok());
  // The cart's certificate may speak for others.
  ASSERT_TRUE(Reserve(*Inventory(cart_files_), "hat", "user:bob").ok());
  EXPECT_THAT(WhoOf("hat", "stock.reserved"),
              ::testing::ElementsAre("ops for ", "cart for user:bob"));
}

// Kubernetes' gRPC probes cannot speak TLS: the admin port answers the
// same health as HTTP.
TEST_F(TlsTest, TheAdminPortAnswersTheProbes) {
  const int admin = PortOf(*inventory_, "serving metrics on port");
  EXPECT_THAT(HttpGet(admin, "/readyz"), HasSubstr("200 OK"));
  EXPECT_THAT(HttpGet(admin, "/livez"), HasSubstr("SERVING"));
}

// A certificate without its key, or a file that is no certificate, stops
// the server at once with exit code 2 naming the flag.
TEST(TlsFlagsTest, IncompleteOrUnreadableFilesExitWithCode2) {
  TestCa ca("flags-ca");
  const TlsFiles files = ca.Issue("inventory");
  ChildProcess without_key(INVENTORY_SERVER,
                           {"--tls_cert_file=" + files.cert_file,
                            "--database_url=host=127.0.0.1 port=1"});
  EXPECT_EQ(without_key.WaitForExit(absl::Seconds(10)), 2);
  EXPECT_THAT(absl::StrJoin(without_key.Lines(), "\n"),
              HasSubstr("--tls_key_file=: must be set together with "
                        "--tls_cert_file"));
  ChildProcess key_as_ca(CART_SERVER,
                         {"--inventory_tls_ca_file=" + files.key_file,
                          "--database_url=host=127.0.0.1 port=1"});
  EXPECT_EQ(key_as_ca.WaitForExit(absl::Seconds(10)), 2);
  EXPECT_THAT(absl::StrJoin(key_as_ca.Lines(), "\n"),
              HasSubstr("--inventory_tls_ca_file=" + files.key_file +
                        ": must be a readable PEM file holding a CA "
                        "certificate"));
  ChildProcess delegates_without_ca(
      INVENTORY_SERVER,
      {"--delegating_peers=cart", "--database_url=host=127.0.0.1 port=1"});
  EXPECT_EQ(delegates_without_ca.WaitForExit(absl::Seconds(10)), 2);
  EXPECT_THAT(absl::StrJoin(delegates_without_ca.Lines(), "\n"),
              HasSubstr("--delegating_peers=cart: must be empty unless"));
}

}  // namespace

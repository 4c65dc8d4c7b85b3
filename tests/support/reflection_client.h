#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace shop::testing {

// What a reflection client (grpcurl, buf curl) learns from a server: the
// services it lists, and the file descriptors that describe `symbol`.
struct Reflected {
  bool answered = false;  // both requests got a response
  std::vector<std::string> services;
  std::string describe_error;  // empty when `symbol` was described
  int files = 0;
};

inline Reflected AskReflection(const std::shared_ptr<grpc::Channel>& channel,
                               const std::string& symbol) {
  namespace reflection = grpc::reflection::v1alpha;
  Reflected reflected;
  auto stub = reflection::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  auto stream = stub->ServerReflectionInfo(&context);
  reflection::ServerReflectionRequest list;
  list.set_list_services("");
  reflection::ServerReflectionResponse listed;
  if (!stream->Write(list) || !stream->Read(&listed)) return reflected;
  for (const auto& service : listed.list_services_response().service()) {
    reflected.services.push_back(service.name());
  }
  reflection::ServerReflectionRequest describe;
  describe.set_file_containing_symbol(symbol);
  reflection::ServerReflectionResponse described;
  if (!stream->Write(describe) || !stream->Read(&described)) return reflected;
  reflected.answered = true;
  if (described.has_error_response()) {
    reflected.describe_error = described.error_response().error_message();
  }
  reflected.files =
      described.file_descriptor_response().file_descriptor_proto_size();
  stream->WritesDone();
  return reflected;
}

}  // namespace shop::testing

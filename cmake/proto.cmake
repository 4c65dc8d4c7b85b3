# shop_proto_library(NAME target PROTOS files... [DEPS targets...] [GRPC])
# Generates C++ (and gRPC stubs when GRPC is given) into the build tree and
# wraps them in one static library, as gRPC's route_guide example does.
function(shop_proto_library)
  cmake_parse_arguments(ARG "GRPC" "NAME;IMPORT_DIR" "PROTOS;DEPS" ${ARGN})
  if(NOT ARG_IMPORT_DIR)
    set(ARG_IMPORT_DIR ${PROJECT_SOURCE_DIR}/proto)
  endif()
  set(out_dir ${PROJECT_BINARY_DIR}/gen)
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(abs ${proto} ABSOLUTE)
    file(RELATIVE_PATH rel ${ARG_IMPORT_DIR} ${abs})
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(outs ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h)
    set(args --cpp_out=${out_dir})
    if(ARG_GRPC)
      list(APPEND outs ${out_dir}/${stem}.grpc.pb.cc ${out_dir}/${stem}.grpc.pb.h)
      list(APPEND args --grpc_out=${out_dir}
           --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(
      OUTPUT ${outs}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND protobuf::protoc ARGS ${args} -I${ARG_IMPORT_DIR}
              -I${PROJECT_SOURCE_DIR}/proto ${abs}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${rel}")
    list(APPEND srcs ${outs})
  endforeach()
  add_library(${ARG_NAME} STATIC ${srcs})
  target_include_directories(${ARG_NAME} PUBLIC ${out_dir})
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${ARG_NAME} PUBLIC gRPC::grpc++)
  endif()
endfunction()

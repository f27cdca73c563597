# switchyard_grpc_proto_library(<target> <proto>...): a static library of the
# C++ messages and gRPC stubs protoc generates for the given .proto files,
# which are named relative to the calling directory. Generated headers are
# included as "<path of the proto without .proto>.pb.h".
function(switchyard_grpc_proto_library target)
  set(sources)
  foreach(proto ${ARGN})
    string(REPLACE ".proto" "" stem ${proto})
    set(out ${CMAKE_CURRENT_BINARY_DIR}/${stem})
    add_custom_command(
      OUTPUT ${out}.pb.cc ${out}.pb.h ${out}.grpc.pb.cc ${out}.grpc.pb.h
      COMMAND ${Protobuf_PROTOC_EXECUTABLE}
              --proto_path=${CMAKE_CURRENT_SOURCE_DIR}
              --cpp_out=${CMAKE_CURRENT_BINARY_DIR}
              --grpc_out=${CMAKE_CURRENT_BINARY_DIR}
              --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
              ${proto}
      DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${proto}
      WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
      COMMENT "protoc ${proto}")
    list(APPEND sources ${out}.pb.cc ${out}.grpc.pb.cc)
  endforeach()
  add_library(${target} STATIC ${sources})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_BINARY_DIR})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf gRPC::grpc++)
endfunction()

# ovx_bpf_object(<name> <source>)
#   Compiles bpf/<name>.bpf.c with clang into a BTF-carrying object and
#   generates its libbpf skeleton with bpftool. Creates:
#     ${CMAKE_BINARY_DIR}/bpf/<name>.bpf.o
#     ${CMAKE_BINARY_DIR}/bpf/<name>.skel.h
#     INTERFACE target ovx_bpf_<name> (include it to get the skeleton)
find_program(OVX_CLANG NAMES clang clang-14 REQUIRED)
find_program(OVX_BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch
                OUTPUT_VARIABLE OVX_MULTIARCH OUTPUT_STRIP_TRAILING_WHITESPACE)

set(OVX_BPF_CFLAGS
    -g -O2 -target bpf -D__TARGET_ARCH_x86
    -Wall -Werror -Wno-unused-function
    -I${CMAKE_SOURCE_DIR}/maps/abi
    -I${CMAKE_SOURCE_DIR}/bpf
    -idirafter /usr/include/${OVX_MULTIARCH})

set(OVX_BPF_OUT ${CMAKE_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${OVX_BPF_OUT})

function(ovx_bpf_object name source)
  set(obj ${OVX_BPF_OUT}/${name}.bpf.o)
  set(skel ${OVX_BPF_OUT}/${name}.skel.h)
  file(GLOB_RECURSE bpf_headers ${CMAKE_SOURCE_DIR}/bpf/lib/*.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${OVX_CLANG} ${OVX_BPF_CFLAGS} -c ${source} -o ${obj}
    DEPENDS ${source} ${bpf_headers} ${CMAKE_SOURCE_DIR}/maps/abi/ovx_abi.h
    COMMENT "BPF ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${OVX_BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
    DEPENDS ${obj}
    COMMENT "BPF skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(ovx_bpf_${name}_gen DEPENDS ${obj} ${skel})
  add_library(ovx_bpf_${name} INTERFACE)
  add_dependencies(ovx_bpf_${name} ovx_bpf_${name}_gen)
  target_include_directories(ovx_bpf_${name} INTERFACE ${OVX_BPF_OUT})
endfunction()

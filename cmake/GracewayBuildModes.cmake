# Build modes that instrument every target of the build (library, binary, tests, fuzzers):
#   GRACEWAY_SANITIZE="address;undefined" | "thread"   sanitizers (gcc or clang)
#   GRACEWAY_ENABLE_COVERAGE=ON                         gcov counters for gcovr (gcc)
#   GRACEWAY_BUILD_FUZZERS=ON                           libFuzzer targets (clang), see fuzz/
# CMakePresets.json names the combinations the test command runs.

set(GRACEWAY_SANITIZE "" CACHE STRING "Sanitizers to build with: empty, \"address;undefined\" or \"thread\"")
option(GRACEWAY_ENABLE_COVERAGE "Instrument for line and branch coverage (gcov/gcovr)" OFF)
option(GRACEWAY_BUILD_FUZZERS "Build the libFuzzer targets (needs clang and libclang-rt-dev)" OFF)
option(GRACEWAY_UBSAN_VPTR "With undefined: UBSan's vptr checks (dynamic types of calls and casts)" ON)

if(GRACEWAY_SANITIZE)
  list(JOIN GRACEWAY_SANITIZE "," _graceway_sanitizers)
  if("thread" IN_LIST GRACEWAY_SANITIZE AND "address" IN_LIST GRACEWAY_SANITIZE)
    message(FATAL_ERROR "GRACEWAY_SANITIZE: thread and address cannot be combined")
  endif()
  # Fail on the first report, so ctest sees a failing test rather than a log line.
  add_compile_options(-fsanitize=${_graceway_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_graceway_sanitizers})
  if("undefined" IN_LIST GRACEWAY_SANITIZE AND NOT GRACEWAY_UBSAN_VPTR)
    # The asan job's choice (CMakePresets.json): the vptr checks cost a fifth of its compile
    # time; the fuzz job keeps them, on the code paths that take untrusted input.
    add_compile_options(-fno-sanitize=vptr)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports maybe-uninitialized inside <regex> and <functional> once sanitizers
    # instrument them (GCC's manual warns that -fsanitize can cause such false positives).
    add_compile_options(-Wno-maybe-uninitialized)
    if("thread" IN_LIST GRACEWAY_SANITIZE)
      # Boost.Asio's std_fenced_block uses atomic_thread_fence, which TSan does not model;
      # Asio's scheduler also orders handlers with its mutex, which TSan does see.
      add_compile_options(-Wno-tsan)
    endif()
  endif()
  message(STATUS "graceway: sanitizers ${_graceway_sanitizers}")
endif()

if(GRACEWAY_ENABLE_COVERAGE)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    message(FATAL_ERROR "GRACEWAY_ENABLE_COVERAGE needs gcc (gcovr reads gcov data)")
  endif()
  # Atomic counters: the server is multithreaded and racy counters would lose hits.
  add_compile_options(--coverage -fprofile-update=atomic -O0)
  add_link_options(--coverage)
  message(STATUS "graceway: coverage instrumentation on")
endif()

if(GRACEWAY_BUILD_FUZZERS AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "GRACEWAY_BUILD_FUZZERS needs clang (CXX=clang++-14)")
endif()
if(GRACEWAY_BUILD_FUZZERS)
  # Coverage feedback for libFuzzer in every object; the fuzz targets add -fsanitize=fuzzer.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Default sanitizer options compiled into each executable, so a test, the graceway binary a test
# spawns and a fuzz target all behave the same without environment variables.
add_library(graceway_sanitizer_options OBJECT ${CMAKE_CURRENT_LIST_DIR}/sanitizer_options.cpp)
function(graceway_executable target)
  if(GRACEWAY_SANITIZE)
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:graceway_sanitizer_options>)
  endif()
endfunction()

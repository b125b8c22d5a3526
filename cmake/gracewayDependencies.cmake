# What the graceway library needs at link time: the one list, used twice.
#   - CMakeLists.txt calls graceway_find_dependencies(BUILD): find_package(... REQUIRED).
#   - The installed gracewayConfig.cmake calls graceway_find_dependencies(CONSUMER):
#     find_dependency(...), so a consumer's find_package(graceway) finds them too, or fails
#     saying which one is missing.
# libgraceway is static, so its PRIVATE dependencies are part of its link interface
# ($<LINK_ONLY:...> in the exported gracewayTargets.cmake) and a consumer needs their imported
# targets as much as the PUBLIC ones. Add or drop a dependency here and in the
# target_link_libraries(graceway ...) of CMakeLists.txt, nowhere else.
#
# Macros, not functions: the targets they create must be visible to the caller, and in
# CONSUMER mode find_dependency's return() must leave gracewayConfig.cmake.

include_guard(GLOBAL)
include(CMakeFindDependencyMacro)

macro(_graceway_dependency)
  if(_graceway_dependency_mode STREQUAL "CONSUMER")
    find_dependency(${ARGV})
  else()
    find_package(${ARGV} REQUIRED)
  endif()
endmacro()

macro(graceway_find_dependencies _graceway_dependency_mode_arg)
  set(_graceway_dependency_mode "${_graceway_dependency_mode_arg}")
  # PUBLIC: in graceway's headers.
  _graceway_dependency(Threads)
  _graceway_dependency(nlohmann_json 3.10)
  _graceway_dependency(spdlog 1.10)
  # PRIVATE, but needed to link the static library.
  _graceway_dependency(Boost 1.74)          # header-only: Asio and Beast (Boost::headers), the HTTP server
  _graceway_dependency(OpenSSL 3)           # TLS of the HTTP server (OpenSSL::SSL, OpenSSL::Crypto)
endmacro()

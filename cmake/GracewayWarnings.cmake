# Warning policy lives on an INTERFACE target so every graceway target opts in the same way.
add_library(graceway_warnings INTERFACE)
target_compile_options(graceway_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<BOOL:${GRACEWAY_WARNINGS_AS_ERRORS}>:-Werror>)

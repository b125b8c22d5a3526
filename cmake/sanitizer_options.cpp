// Default options for the sanitizer runtimes, linked into every executable of a sanitizer build
// (cmake/GracewayBuildModes.cmake). Environment variables (ASAN_OPTIONS, ...) still override.

extern "C" {

// NOLINTBEGIN(readability-identifier-naming): names the sanitizer runtimes look up.
const char* __asan_default_options() { return "detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1"; }

const char* __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }

const char* __tsan_default_options() { return "halt_on_error=1:second_deadlock_stack=1:history_size=4"; }

// Debian's libcpp-httplib.so is not instrumented. Its chunked writer sends a function-local static
// string (the "0\r\n\r\n" terminator): the static's first-use guard is checked by inline code TSan
// cannot see, so the send() interceptor's read of that buffer looks unordered with the write that
// initialised it. Only interceptor reports whose caller is inside that library are ignored; our
// own code, including the callbacks httplib runs, stays fully checked.
const char* __tsan_default_suppressions() { return "called_from_lib:libcpp-httplib.so\n"; }
// NOLINTEND(readability-identifier-naming)
}

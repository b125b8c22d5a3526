#pragma once
// The child-process helper lives with graceway-replay, which spawns graceway the same way.

#include "replay/child_process.hpp"

namespace graceway::test {
using replay::ChildProcess;
}  // namespace graceway::test

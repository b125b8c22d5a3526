#pragma once
// Built-in demo tools served by `graceway --tools demo` (the default):
//   echo  {text: string}          -> one text content equal to text
//   sleep {ms: integer}           -> waits ms (cancellable), progress at least every 100 ms
//   add   {a: number, b: number}  -> the sum as text and as structured content
// echo and add run inline on the HTTP thread (ToolExecution::inline_nonblocking); sleep on the pool.

#include "graceway/tool_registry.hpp"

namespace graceway {

void add_demo_tools(ToolRegistry& registry);

}  // namespace graceway

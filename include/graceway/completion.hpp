#pragma once
// Argument completion (completion/complete): what a prompt or a resource template offers for one
// of its arguments while the user types.

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace graceway {

// The arguments already filled in (params.context.arguments), by name.
using CompletionContext = std::map<std::string, std::string, std::less<>>;

// Suggestions for `argument` given what has been typed so far (`value`), best first. The server
// sends at most 100 and sets hasMore when there were more. Runs on a tool worker.
using Completer = std::function<std::vector<std::string>(std::string_view argument, std::string_view value,
                                                         const CompletionContext& context)>;

}  // namespace graceway

#pragma once
// The built-in set served by `graceway --tools conformance`: the tools, resources, resource
// template, prompts and completions that the official MCP conformance suite
// (@modelcontextprotocol/conformance, server scenarios) calls, written against the public API
// only. docs/conformance.md lists them and what each scenario checks.
//
//   tools      test_simple_text, test_image_content, test_audio_content, test_embedded_resource,
//              test_multiple_content_types, test_tool_with_logging, test_tool_with_progress,
//              test_error_handling, test_sampling {prompt}, test_elicitation {message},
//              test_elicitation_sep1034_defaults, test_elicitation_sep1330_enums,
//              test_reconnection (SEP-1699 polling), json_schema_2020_12_tool
//   resources  test://static-text, test://static-binary, test://watched-resource,
//              template test://template/{id}/data (completes id)
//   prompts    test_simple_prompt, test_prompt_with_arguments {arg1, arg2} (completes arg1),
//              test_prompt_with_embedded_resource {resourceUri}, test_prompt_with_image

#include "graceway/catalog.hpp"

namespace graceway {

void add_conformance_set(Catalog& catalog);

}  // namespace graceway

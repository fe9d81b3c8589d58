// Package llm maps the span dialects that LLM instrumentations emit to tael's
// typed LLM columns (spans.llm_provider … spans.completion_sha256).
//
// Extract reads a span's attributes and events and returns the typed Fields
// and what it Consumed: the attribute keys and events that carried prompt or
// completion content. The OTLP converter removes those from the stored span
// (always: the text goes to the blob store, or nowhere when content capture
// is off), so no prompt text is ever stored twice.
//
// # Which spans are LLM spans
//
// A span is an LLM span (Fields.IsLLM) when it has an attribute whose key
// starts with "gen_ai." or "llm.", or the attribute "openinference.span.kind",
// or an event whose name starts with "gen_ai.". All other fields are empty
// for other spans, and nothing is consumed from them.
//
// # Dialects and precedence
//
// Where several attributes can give a field, the first one present (and of a
// usable type) wins, in this order:
//
//	Provider        gen_ai.provider.name, gen_ai.system, llm.provider, llm.system
//	Model           gen_ai.response.model, gen_ai.request.model, llm.response.model_name,
//	                llm.model_name, llm.request.model_name, llm.response.model, llm.request.model
//	Operation       gen_ai.operation.name, then openinference.span.kind mapped as
//	                LLM→chat, EMBEDDING→embeddings, TOOL→execute_tool, AGENT→invoke_agent,
//	                any other kind lowercased (chain, retriever, …), then llm.request.type
//	InputTokens     gen_ai.usage.input_tokens, gen_ai.usage.prompt_tokens, llm.token_count.prompt,
//	                llm.usage.prompt_tokens
//	OutputTokens    gen_ai.usage.output_tokens, gen_ai.usage.completion_tokens,
//	                llm.token_count.completion, llm.usage.completion_tokens
//	TotalTokens     gen_ai.usage.total_tokens, llm.token_count.total, llm.usage.total_tokens,
//	                else InputTokens+OutputTokens (whichever of the two are known)
//	CostUSD         gen_ai.usage.cost, cost_usd, llm.cost.total, else llm.cost.prompt+llm.cost.completion
//	TTFTMs          gen_ai.response.time_to_first_token (seconds, ×1000),
//	                gen_ai.server.time_to_first_token (seconds, ×1000), llm.ttft_ms (milliseconds)
//	FinishReason    gen_ai.response.finish_reasons (the FIRST element of the string array; a
//	                plain string, or a string holding a JSON array, is accepted too),
//	                llm.finish_reason, then the finish_reason of the first output message that
//	                has one (gen_ai.output.messages, gen_ai.choice events,
//	                gen_ai.completion.N.finish_reason)
//	ConversationID  gen_ai.conversation.id, session.id
//
// Token counts accept int values, integral doubles and decimal strings; costs
// and times accept doubles, ints and decimal strings. A value of another type
// is ignored (the next source is tried) and stays in the stored attributes.
//
// # Prompt and completion content
//
// The prompt is taken from the first of these sources that yields text:
//
//  1. gen_ai.system_instructions followed by gen_ai.input.messages (attributes)
//  2. span events, in order: gen_ai.system.message, gen_ai.user.message,
//     gen_ai.assistant.message, gen_ai.tool.message (one message each),
//     gen_ai.content.prompt (its gen_ai.prompt attribute), and
//     gen_ai.client.inference.operation.details (its gen_ai.system_instructions
//     and gen_ai.input.messages attributes)
//  3. gen_ai.prompt.N.role / .content / .tool_calls.M.{name,arguments} (OpenLLMetry)
//  4. gen_ai.prompt (legacy attribute)
//  5. llm.input_messages.N.message.{role,content,contents.M.message_content.text,
//     tool_calls.M.tool_call.function.{name,arguments}} (OpenInference)
//  6. llm.prompts (a string array, or llm.prompts.N.prompt.text)
//  7. input.value
//  8. gen_ai.tool.call.arguments (tool execution spans)
//
// The completion likewise from gen_ai.output.messages; the gen_ai.choice,
// gen_ai.content.completion (gen_ai.completion) and operation-details
// (gen_ai.output.messages) events; gen_ai.completion.N.*; gen_ai.completion;
// llm.output_messages.N.*; llm.choices.N.completion.text; output.value;
// gen_ai.tool.call.result.
//
// Every attribute of all these families is consumed, whether or not it was
// the source used (input.value and output.value only on LLM spans), and so is
// every content event: the event is dropped whole, since its attributes are
// the message. Attributes such as llm.prompt_template.variables or
// embedding.text are not treated as content.
//
// # Rendering (it decides the sha256 the blob store uses)
//
// Content is read as a list of messages, each a role and a text. The rendered
// text is the messages joined by a single "\n", each written as
//
//	role + ": " + text     when the role is known
//	text                   otherwise
//
// with no trailing newline; roles are lowercased ("Assistant" → "assistant");
// a message whose text is empty is left out. So a plain string prompt renders
// as itself, byte for byte, and its sha256 is the sha256 of the original text.
//
// A content value that is a JSON array or object (in a string attribute, or a
// structured OTLP map/array value) is read as messages when it looks like
// them: an array whose elements are strings or message objects, or a single
// message object. A message object has a "role" and its text in "parts" (the
// GenAI shape: [{"type":"text","content":"…"}]), "content" (a string or an
// array of parts with "text" or "content") or "text"; a choice object
// {"message":{…},"finish_reason":…} is unwrapped. Within a message, parts
// are joined with "\n"; a tool call part (type tool_call, tool_use or
// function_call, or an OpenAI "tool_calls" entry) renders as
// "tool_call NAME(ARGUMENTS)" with ARGUMENTS verbatim when a string, else as
// compact JSON with sorted keys; a tool response part renders its response;
// parts with no text (images, blobs) are skipped. Anything else (plain text,
// JSON that is not messages, such as an OpenInference input.value holding a
// whole request) is one message with no role, verbatim.
//
// gen_ai.system_instructions (an array of parts, or text) is one message with
// the role system. The flattened dialects (sources 3 and 5 and their
// completion twins) give one message per index N, in numeric order, whose
// text is its content followed by its text parts and tool calls, one per
// line; llm.prompts and llm.choices give one message per element, with no
// role.
//
// A message event (gen_ai.system.message, gen_ai.user.message,
// gen_ai.assistant.message, gen_ai.tool.message, gen_ai.choice) is one
// message object: the JSON object in its gen_ai.event.content attribute when
// it has one (a value there that is not a JSON object is the text), else its
// own attributes ("role", "content", "message", "finish_reason",
// "tool_calls"). A "content" string is taken verbatim, even when it holds
// JSON. The role defaults to the one in the event's name (gen_ai.user.message
// → user, gen_ai.choice → assistant).
package llm

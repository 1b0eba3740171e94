// The synthetic model's document route: POST /unstructured/general/v0/general,
// shaped like the Unstructured API that Privatemode serves under
// /unstructured/ (spec §5.6), answering elements derived from the text so
// tests can tell that the document arrived intact.
//
// Contract:
// - The document is the file part "files" of a multipart/form-data body (as
//   the Unstructured API takes it), or else the whole body as text.
// - The answer is a JSON array with one element per non-empty line (CR and
//   LF both end a line), in order: {"type": "Title" for the first,
//   "NarrativeText" after; "element_id": the first 16 hex digits of the
//   line's SHA-256; "text": the line; "metadata": {"filename" (the part's
//   filename, else "document"), "page_number": 1}}.
// - A form that does not parse, a form without "files", a document with no
//   text, a filename over 255 bytes or more than 100,000 lines with text
//   (the answer repeats the filename per line) gets 400 in respond_error's
//   format naming the problem.
// - Loop thread only.
#pragma once

#include "cipherline/http/router.hpp"

namespace cipherline::backend {

void add_synthetic_unstructured_routes(http::Router& router);

}  // namespace cipherline::backend

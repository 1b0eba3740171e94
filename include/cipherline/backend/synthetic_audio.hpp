// The synthetic model's audio route: POST /v1/audio/transcriptions, an
// OpenAI-compatible transcription endpoint whose answer is derived from the
// uploaded bytes, so tests can tell that the file and the form values
// arrived intact (SyntheticModel::add_routes registers it).
//
// Contract:
// - The request is multipart/form-data with a "model" value ("synthetic")
//   and a file part "file". The transcript is
//   "synthetic transcript of <n> bytes, sha256 <first 16 hex digits>,
//   language <language>[, prompt: <prompt>]." (language "en" unless the
//   form says otherwise); the duration is n / 32000 seconds (16 kHz 16-bit
//   mono), rounded to milliseconds.
// - response_format: json (default: {"text", "usage"}), verbose_json
//   ({"task", "language", "duration", "text", "segments": one segment over
//   the whole duration, "usage"}), text, srt and vtt (text/plain). The usage
//   is {"type": "duration", "seconds": <duration rounded up>}.
// - stream=true (json only): one `transcript.text.delta` event per word
//   ({"type", "delta"}; with stream_continuous_usage_stats=true each also
//   carries a token "usage"), then `transcript.text.done` ({"type", "text",
//   "usage"}), then `data: [DONE]`. Events carry only data lines; the
//   type is in the JSON, as OpenAI's API sends it.
// - Bad input gets 400 in respond_error's format naming what was wrong: not
//   multipart or a malformed form (the parser's detail), missing or unknown
//   model, no file part "file", an unknown response_format, a stream value
//   that is not a boolean, stream with a format other than json.
// - Loop thread only.
#pragma once

#include "cipherline/http/router.hpp"

namespace cipherline::backend {

void add_synthetic_audio_routes(http::Router& router);

}  // namespace cipherline::backend

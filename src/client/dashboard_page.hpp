// The proxy's dashboard: one self-contained HTML page (GET /dashboard) that
// polls GET /verification every 2 s and shows it — the verified state, the
// Coordinator's evidence and every check, the manifest, the secret, the
// counters, the last errors and plots of the request rate and the token
// interval (private to the client layer).
//
// Contract:
// - Every byte comes from the proxy: inline CSS and JS, no external script,
//   style, font or image, no URL with a scheme or host.
// - Data reaches the DOM only as text (textContent, attribute values),
//   never as markup.
// - dashboard_csp() is the Content-Security-Policy to serve the page with:
//   nothing by default; the inline script and style by their SHA-256;
//   fetches to the page's own origin only; no framing, no forms, no base.
#pragma once

#include <string>
#include <string_view>

namespace cipherline::client::internal {

std::string_view dashboard_page();
std::string_view dashboard_csp();

}  // namespace cipherline::client::internal

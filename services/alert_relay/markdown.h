#pragma once
// One Alertmanager notification → one DingTalk robot markdown message (msgtype "markdown": a plain
// `title` shown in the chat list and notifications, and a markdown `text`).
//
// Title, as Alertmanager's default: "[FIRING:2] <group label values>" / "[RESOLVED] ...".
// Text: a heading with the status and the highest severity, the group labels, the common summary,
// then one list item per alert (firing first): its summary (or alertname), the labels that set it
// apart from the group, its description, when it started or resolved, and a runbook link
// (annotation runbook_url, or runbook when it is a URL; otherwise runbook is shown as text); at
// the end a link to Alertmanager.
//
// Untrusted text (every label and annotation) is cut to a field bound first, then escaped: HTML's
// & < > " ' as entities (DingTalk's markdown passes HTML through) and the markdown punctuation
// \ ` * _ [ ] ~ | as backslash escapes; line breaks become spaces so no value starts a heading, a
// list or a quote. Links are only rendered for absolute http(s) URLs, with ( ) and spaces
// percent-encoded. The whole text stays within max_text_bytes (cut at a UTF-8 boundary): alerts
// that do not fit are counted in a closing "… and N more" line.

#include <cstddef>
#include <string>
#include <string_view>

#include "alert_relay/notification.h"

namespace sase::alert_relay {

struct RenderOptions {
  size_t max_text_bytes = 4000;  // DingTalk refuses more than 20000 bytes; phones want far less
  size_t max_title_bytes = 128;
};

struct RobotMarkdown {
  std::string title;
  std::string text;
};

// `notice`, when not empty, is shown as a quote line above the closing link (the relay's "N
// notifications were dropped" note); it counts within max_text_bytes.
RobotMarkdown RenderMarkdown(const Notification& n, const RenderOptions& options, std::string_view notice = {});

// Escaping of one untrusted value for DingTalk markdown (see above).
std::string EscapeMarkdown(std::string_view s);
// The longest prefix of s of at most max_bytes that ends on a UTF-8 character boundary, with "…"
// appended (within the bound) when anything was cut.
std::string TruncateUtf8(std::string_view s, size_t max_bytes);

}  // namespace sase::alert_relay

#!/usr/bin/env python3
"""Regenerates the committed seeds fuzz/corpus_response/ for response_fuzzer.cc from the documented
DingTalk bodies (../shared/dingtalk/samples by default; SAMPLES=dir overrides).

Seed layout: byte 0 = parser index, byte 1 = status/content-type selector (0 = HTTP 200 JSON;
the status index of a documented error status otherwise), then the body."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus_response")
SAMPLES = os.environ.get("SAMPLES", os.path.join(HERE, "..", "..", "shared", "dingtalk", "samples"))

# sample file -> parser index (response_fuzzer.cc)
PARSERS = {
    "topapi_v2_user_list.json": 0,
    "topapi_v2_user_get.json": 1,
    "topapi_v2_department_listsub.json": 2,
    "topapi_v2_department_listsubid.json": 3,
    "topapi_v2_department_get.json": 4,
    "topapi_user_getbyunionid.json": 5,
    "topapi_user_count.json": 6,
    "topapi_v2_user_getuserinfo.json": 7,
    "call_back_get_call_back_failed_result.json": 8,
    "v1_contact_users_me.json": 9,
    "v1_oauth2_accessToken.json": 10,
    "gettoken.json": 11,
    "v1_oauth2_userAccessToken.json": 12,
    # error bodies, fed to the parser of the API they answer
    "error_oapi_60003_dept_not_found.json": 4,
    "error_oapi_60121_user_not_found.json": 1,
    "error_oapi_throttling_90018.json": 0,
    "error_oapi_token_invalid_40014_42001.json": 0,
    "error_api_400_invalidClientIdOrSecret.json": 10,
    "error_api_403_QpsLimitForAppkeyAndApi.json": 9,
    "error_ip_ban_punish.json": 0,
}
STATUS = {200: 0, 400: 3, 403: 4, 429: 5, 500: 6, 502: 7}


def main():
    os.makedirs(OUT, exist_ok=True)
    n = 0
    for name, parser in sorted(PARSERS.items()):
        path = os.path.join(SAMPLES, name)
        if not os.path.exists(path):
            print("missing", path, file=sys.stderr)
            continue
        doc = json.load(open(path, encoding="utf-8"))
        for i, r in enumerate(doc.get("responses", [])):
            body = r.get("body")
            if body is None:
                continue
            text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
            status = STATUS.get(int(r.get("http_status") or 200), 0)
            if "<html" in text.lower():
                status |= 8
            seed = bytes([parser, status]) + text.encode("utf-8")
            with open(os.path.join(OUT, f"{os.path.splitext(name)[0]}_{i}"), "wb") as f:
                f.write(seed)
            n += 1
    print(n, "seeds in", OUT)


if __name__ == "__main__":
    main()

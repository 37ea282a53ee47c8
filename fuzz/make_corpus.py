#!/usr/bin/env python3
"""Regenerates the committed seed corpus fuzz/corpus/ (see inbound_fuzzer.cc for the layout)."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

# official-py3-check_url vector (the fuzzer's keys).
SIG = "03044561471240d4a14bb09372dfcfd4fd0e40cb"
TS = "1608001896814"
NONCE = "WL4PK6yA"
ENC = ("0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd15NRPvNvmBKy"
       "DCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3")
APP = "ding6ccabc44d2c8d38b"
CORP = "dingcorp0001"


def seed(mode, sig, ts, nonce, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return bytes([mode]) + f"{sig}\n{ts}\n{nonce}\n".encode() + payload


def envelope(msg, receiver=APP, length=None):
    msg = msg.encode()
    n = len(msg) if length is None else length
    return b"0123456789abcdef" + struct.pack(">I", n) + msg + receiver.encode()


body = json.dumps({"encrypt": ENC}, separators=(",", ":"))
seeds = {
    "m0_valid_check_url": seed(0, SIG, TS, NONCE, body),
    "m0_bad_signature": seed(0, "0" * 40, TS, NONCE, body),
    "m0_missing_nonce": seed(0, SIG, TS, "", body),
    "m0_body_not_json": seed(0, SIG, TS, NONCE, "encrypt=abc"),
    "m1_valid_check_url": seed(1, "", TS, NONCE, body),
    "m1_bad_base64": seed(1, "", TS, NONCE, '{"encrypt":"abc=def"}'),
    "m1_short_ciphertext": seed(1, "", TS, NONCE, '{"encrypt":"AAAAAAAAAAAAAAAAAAAAAA=="}'),
    "m1_stale_timestamp": seed(1, "", "1445827045067", NONCE, body),
    "m2_valid_user_add": seed(2, "", TS, NONCE, envelope(
        '{"EventType":"user_add_org","UserId":["u1"],"TimeStamp":"1608001896814"}')),
    "m2_wrong_receiver": seed(2, "", TS, NONCE, envelope('{"EventType":"check_url"}', "dingother")),
    "m2_corp_receiver": seed(6, "", TS, NONCE, envelope('{"EventType":"check_url"}', CORP)),
    "m2_bad_length": seed(2, "", TS, NONCE, envelope('{"EventType":"check_url"}', APP, 0x7fffffff)),
    "m3_legacy_dept": seed(3, "", TS, NONCE,
                           '{"CorpId":"dingc","EventType":"org_dept_create","DeptId":[600582447],'
                           '"TimeStamp":"1645150739144"}'),
    "m3_current_user": seed(3, "", TS, NONCE,
                            '{"EventType":"user_modify_org","EventTime":1663143335567,"CorpId":"d",'
                            '"BizId":"b","eventId":"c7c7","timeStamp":"1608017258073",'
                            '"diffInfo":{"prev":{"name":"a"},"curr":{"name":"b"},"userid":"u"},'
                            '"userId":["user123456"]}'),
    "m3_stream": seed(3, "", "1608001896", NONCE,
                      '{"eventCorpId":"d","eventType":"user_leave_org","eventId":"e",'
                      '"eventBornTime":1683533823336,"data":{"userId":["015"]}}'),
    "m3_label": seed(3, "", TS, NONCE,
                     '{"EventType":"label_user_change","UserIdList":["a","b"],"LabelIdList":[1],'
                     '"action":"add","TimeStamp":1}'),
    "m3_unknown": seed(3, "", TS, NONCE, '{"EventType":"bpms_instance_change","DeptId":"x"}'),
    "m3_bad_dept": seed(3, "", TS, NONCE, '{"EventType":"org_dept_remove","DeptId":[-1]}'),
    "m3_not_json": seed(3, "", TS, NONCE, "success"),
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {OUT}")

"""Parses an e-mail as a mail client would (Python's email package) and prints what the tests
assert on, as JSON: the Subject as sent and decoded per RFC 2047, List-Id, Message-ID, the
addresses, and each part's type, charset and decoded text; with every defect the parser found.

Usage: mailcheck.py FILE.eml
"""

import email
import email.header
import email.policy
import json
import sys

data = open(sys.argv[1], "rb").read()
raw = email.message_from_bytes(data, policy=email.policy.compat32)
msg = email.message_from_bytes(data, policy=email.policy.default)
subject = "".join(
    part.decode(charset or "ascii") if isinstance(part, bytes) else part
    for part, charset in email.header.decode_header(raw["Subject"])
)
parts = []
defects = [str(d) for d in msg.defects]
for part in msg.walk():
    defects += [str(d) for d in part.defects]
    if part.is_multipart():
        continue
    parts.append(
        {
            "type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "text": part.get_content(),
        }
    )
print(
    json.dumps(
        {
            "subject_raw": raw["Subject"],
            "subject": subject,
            "list_id": msg["List-Id"],
            "message_id": msg["Message-ID"],
            "date": msg["Date"],
            "from": str(msg["From"]),
            "to": [str(a) for a in msg["To"].addresses],
            "content_type": msg.get_content_type(),
            "parts": parts,
            "defects": defects,
        },
        ensure_ascii=False,
    )
)

"""A mail server for the tests: aiosmtpd on loopback, keeping each message it
receives as two files in a folder:

    NNNN.eml   the message as received
    NNNN.json  the envelope and the parsed message: mail_from, rcpt_tos, from, to,
               subject, message_id, content_type, body (decoded text)

    python smtp_server.py PORT FOLDER
"""

import email
import email.policy
import json
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class FolderHandler:
    def __init__(self, folder):
        self.folder = folder
        self.lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "content_type": msg.get_content_type(),
            "body": body.get_content() if body is not None else "",
        }
        with self.lock:
            self.count += 1
            stem = os.path.join(self.folder, "%04d" % self.count)
        with open(stem + ".eml", "wb") as f:
            f.write(raw)
        # The .json last, written whole: a reader that sees it sees the message.
        with open(stem + ".tmp", "w") as f:
            json.dump(record, f, indent=2)
        os.replace(stem + ".tmp", stem + ".json")
        return "250 Message accepted for delivery"


def main():
    port = int(sys.argv[1])
    folder = sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(FolderHandler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("smtp: listening on 127.0.0.1:%d, messages in %s" % (port, folder),
          file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()

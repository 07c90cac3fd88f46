"""An SMTP sink for the fault suite: aiosmtpd on loopback, recording each
mail's Message-ID and recipients, that the suite can stop and start again
(an SMTP outage) on the same port."""

import email
import threading

from aiosmtpd.controller import Controller


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.mails = []  # (message_id, recipients)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            self.mails.append((message.get("Message-ID"), tuple(envelope.rcpt_tos)))
        return "250 OK"

    def snapshot(self):
        with self.lock:
            return list(self.mails)


class Sink:
    def __init__(self, port):
        self.port = port
        self.recorder = Recorder()
        self.controller = None

    def start(self):
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
